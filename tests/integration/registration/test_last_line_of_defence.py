"""The last line of defence: should a value pass every check and still be refused by PostgreSQL (out of
its integer's range, a NUL in text), a lone submission is rejected `not_storable` instead of being
retried into a dead letter, and the transaction goes on; a list is refused whole, for the runtime to
handle each message alone, and so is a lone one on its poll's first hearing (answered when heard
alone). Real PostgreSQL, real refusals: the registration path is replaced by a statement the database
refuses, standing in for a check that is missing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from registration import registering
from registration.registering import Incoming, register_or_refuse
from registration.submission_rules import Rejected
from runtime.transaction import Transaction
from tests.submissions import EXAMPLE_SYSTEM, submission

pytestmark = pytest.mark.integration

REFUSED_STATEMENTS = {
    "an integer out of range, refused by the driver": ("SELECT CAST(:value AS integer)", 2**40),
    "an integer out of range, refused by the server": ("SELECT CAST(:value AS bigint)::integer", 2**40),
    "a NUL in text": ("SELECT CAST(:value AS text)", "a\x00b"),
    "a lone surrogate in text, refused by the driver": ("SELECT CAST(:value AS text)", "\ud800"),
}


def refused_by_the_database(statement: str, value: Any) -> Any:
    async def register_submissions(
        items: Sequence[Incoming], conn: AsyncConnection, key_secret: str, region: str, first_visit_date: date
    ) -> list[Any]:
        await items[0].tx.send(registering.SYSTEM_FEE_OUTCOMES.of(EXAMPLE_SYSTEM), "emitted-before", b"{}")
        await conn.execute(text(statement), {"value": value})
        raise AssertionError("the database took it")

    return register_submissions


@pytest.mark.parametrize("case", REFUSED_STATEMENTS)
async def test_a_lone_submission_the_database_refuses_is_rejected_not_retried(
    case: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registering, "register_submissions", refused_by_the_database(*REFUSED_STATEMENTS[case]))
    fee = submission(submission_id="stored-never-1")
    async with engine.connect() as conn, conn.begin():
        tx = Transaction(conn, "registration", "correlation", None)
        item = Incoming(json.dumps(fee).encode(), tx, system_topic=EXAMPLE_SYSTEM)

        [result] = await register_or_refuse([item], tx, "secret", "Region Exempel", date(2019, 1, 1))

        assert isinstance(result, Rejected) and result.submission_id == "stored-never-1"
        assert [(r.code, r.field) for r in result.reasons] == [("not_storable", None)]
        assert all(str(2**40) not in r.message and "\x00" not in r.message for r in result.reasons)
        # What the refused work emitted is gone; the rejection is the one thing sent, and the transaction
        # is usable still (its savepoint was rolled back).
        assert tx.pending == 1
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1


async def test_a_list_the_database_refuses_is_refused_whole_for_the_runtime_to_handle_alone(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        registering, "register_submissions", refused_by_the_database("SELECT CAST(:value AS text)", "\x00")
    )
    async with engine.connect() as conn, conn.begin():
        tx = Transaction(conn, "registration", "correlation", None)
        items = [Incoming(json.dumps(submission()).encode(), tx, system_topic=EXAMPLE_SYSTEM) for _ in range(2)]
        with pytest.raises(DBAPIError):
            await register_or_refuse(items, tx, "secret", "Region Exempel", date(2019, 1, 1))


async def test_a_lone_submission_on_its_polls_first_hearing_is_refused_whole_to_be_answered_when_heard_alone(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No savepoint on the first hearing: two round trips on every poll of one, for a refusal the checks
    # make all but impossible. The runtime hears the message again alone, where it is answered.
    monkeypatch.setattr(
        registering, "register_submissions", refused_by_the_database("SELECT CAST(:value AS text)", "\x00")
    )
    async with engine.connect() as conn, conn.begin():
        tx = Transaction(conn, "registration", "correlation", None, first_hearing=True)
        item = Incoming(json.dumps(submission()).encode(), tx, system_topic=EXAMPLE_SYSTEM)
        with pytest.raises(DBAPIError):
            await register_or_refuse([item], tx, "secret", "Region Exempel", date(2019, 1, 1))
