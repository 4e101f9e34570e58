"""What one poll of fee events costs in statements sent to PostgreSQL: at 200 submissions a second the answer
waits on the number of round trips on its path more than on the CPU they take (README, "Measuring load").
Counted from `pg_stat_statements` (the local server loads it) for the test's own role; `-s` prints them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from efrikort.infra.stack import InfraEndpoints
from protection.handlers import on_fee_events
from protection.regions import RegionSettings
from runtime.transaction import UnitOfWork
from tests.integration.conftest import statements_run
from tests.integration.protection.conftest import as_delivery, fee_registered

pytestmark = pytest.mark.integration

REGION = RegionSettings.load()


async def test_a_poll_of_new_fees_costs_one_statement_for_each_step_of_protection_s(
    work: UnitOfWork, infra: InfraEndpoints
) -> None:
    patients = [f"round-trip-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    offsets = iter(range(1, 1000))
    first_day = date(2025, 1, 13)
    for week in range(4):  # 1 200 kr before the poll counted, whose fees reach the ceiling (1 450)
        async with work.begin() as tx:
            fees = [fee_registered(p, first_day + timedelta(weeks=week)) for p in patients]
            await on_fee_events([as_delivery(fee, fee.patient_key, next(offsets)) for fee in fees], tx, region=REGION)

    async def the_poll_counted() -> None:
        async with work.begin() as tx:
            fees = [fee_registered(p, first_day + timedelta(weeks=4)) for p in patients]
            await on_fee_events([as_delivery(fee, fee.patient_key, next(offsets)) for fee in fees], tx, region=REGION)

    rows = [(statement.calls, statement.query) for statement in await statements_run(work, infra, the_poll_counted)]
    for calls, query in rows:
        print(f"{calls:3}  {query[:150]}")
    async with work.engine.connect() as conn:
        written = await conn.execute(
            text(
                "SELECT (SELECT count(*) FROM fees WHERE patient_key = ANY(:keys) AND charged_amount IS NOT NULL), "
                "(SELECT count(*) FROM free_cards WHERE patient_key = ANY(:keys)), "
                "(SELECT count(*) FROM patient_status WHERE patient_key = ANY(:keys)), "
                "(SELECT count(*) FROM ledger_checkpoints WHERE patient_key = ANY(:keys))"
            ),
            {"keys": patients},
        )
        charged_cards_statuses_checkpoints = tuple(written.one())

    # Each fee charged, and each patient's fees reached the ceiling: a card, a status, a checkpoint each.
    assert charged_cards_statuses_checkpoints == (15, 3, 3, 3)
    # The transaction's own (BEGIN, the outbox's insert, COMMIT) aside, protection's steps: lock and read
    # before, record the versions, read the history, record the changes. (pg_stat_statements counts each
    # row of an executemany as a call.)
    own = [(calls, query) for calls, query in rows if query not in ("BEGIN", "COMMIT") and "INTO outbox" not in query]
    assert [calls for calls, _ in own] == [1, 1, 1, 1], own
