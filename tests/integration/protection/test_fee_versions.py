"""Every fee version is kept, and a fee's row is its latest version whatever order the versions arrive in
(`store.record_fee_versions`, one statement a batch). Against real PostgreSQL, straight on the store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from contracts.events import FeeCorrected, FeeDeleted, FeeRegistered
from protection import store
from protection.ledger import ReplayPosition
from runtime.transaction import UnitOfWork
from tests.integration.protection.conftest import fee_registered

pytestmark = pytest.mark.integration

PATIENT = "fee-versions-patient"
UNIT = "SE2321000016-FV"
VISIT = date(2025, 3, 1)


def corrected(fee: FeeRegistered, visit: date, version: int = 2) -> FeeCorrected:
    fields = {k: v for k, v in fee.model_dump().items() if k in FeeCorrected.model_fields}
    return FeeCorrected.model_validate(
        {**fields, "version": version, "visit_date": visit, "corrected_by": "SE2321000016-E9", "corrected_at": now()}
    )


def deleted(fee: FeeRegistered, version: int = 2) -> FeeDeleted:
    return FeeDeleted(
        fee_id=fee.fee_id,
        version=version,
        patient_key=PATIENT,
        care_unit=UNIT,
        deleted_by="SE2321000016-E9",
        deleted_at=now(),
    )


def now() -> datetime:
    return datetime.now(UTC)


def at(fee: FeeRegistered, visit: date) -> store.FeePosition:
    return store.FeePosition(PATIENT, ReplayPosition(visit, fee.registered_at, fee.fee_id))


async def recorded(work: UnitOfWork, *events: store.FeeEvent) -> list[store.FeePosition]:
    async with work.begin() as tx:
        return await store.record_fee_versions(tx.conn, events)


async def row_of(work: UnitOfWork, fee: FeeRegistered) -> dict[str, Any] | None:
    async with work.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT version, visit_date, fee_amount, deleted FROM fees WHERE fee_id = :fee_id"),
                {"fee_id": fee.fee_id},
            )
        ).first()
        return dict(row._mapping) if row is not None else None


async def versions_of(work: UnitOfWork, fee: FeeRegistered) -> list[tuple[int, str, int | None]]:
    """Each version kept: its number, its type and the amount it carried."""
    async with work.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT version, event_type, (event->>'fee_amount')::int FROM fee_versions "
                "WHERE fee_id = :fee_id ORDER BY version"
            ),
            {"fee_id": fee.fee_id},
        )
        return [tuple(row) for row in rows]


async def test_a_deletion_before_its_registration_in_one_batch_leaves_the_fee_without_a_counting_row(
    work: UnitOfWork,
) -> None:
    fee = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    assert await recorded(work, deleted(fee), fee) == []
    assert await row_of(work, fee) is None
    assert await versions_of(work, fee) == [(1, "FeeRegistered", 300), (2, "FeeDeleted", None)]


async def test_a_registration_arriving_after_its_deletion_does_not_bring_the_fee_back(work: UnitOfWork) -> None:
    fee = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    assert await recorded(work, deleted(fee)) == []
    assert await recorded(work, fee) == []
    assert await row_of(work, fee) is None
    assert await versions_of(work, fee) == [(1, "FeeRegistered", 300), (2, "FeeDeleted", None)]


async def test_a_deletion_marks_the_row_deleted_where_it_stood_and_does_not_move_it(work: UnitOfWork) -> None:
    fee = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    assert await recorded(work, fee) == [at(fee, fee.visit_date)]
    assert await recorded(work, deleted(fee)) == []
    assert await row_of(work, fee) == {"version": 2, "visit_date": fee.visit_date, "fee_amount": 300, "deleted": True}


async def test_a_correction_before_its_registration_in_one_batch_is_the_row(work: UnitOfWork) -> None:
    fee = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    moved = date(2025, 2, 14)
    assert await recorded(work, corrected(fee, moved), fee) == [at(fee, moved)]
    assert await row_of(work, fee) == {"version": 2, "visit_date": moved, "fee_amount": 300, "deleted": False}


async def test_an_older_version_sent_again_or_late_changes_nothing(work: UnitOfWork) -> None:
    fee = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    moved = date(2025, 2, 14)
    assert await recorded(work, corrected(fee, moved)) == [at(fee, moved)]
    assert await recorded(work, fee) == []  # late: first seen after its correction
    assert await recorded(work, fee, corrected(fee, moved)) == []  # both sent again
    assert await row_of(work, fee) == {"version": 2, "visit_date": moved, "fee_amount": 300, "deleted": False}
    assert await versions_of(work, fee) == [(1, "FeeRegistered", 300), (2, "FeeCorrected", 300)]


async def test_a_version_sent_twice_in_one_batch_is_the_first_one_s(work: UnitOfWork) -> None:
    first = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    again = first.model_copy(update={"fee_amount": 500, "paid_amount": 500})
    assert await recorded(work, first, again) == [at(first, first.visit_date)]
    assert await row_of(work, first) == {
        "version": 1,
        "visit_date": first.visit_date,
        "fee_amount": 300,
        "deleted": False,
    }
    assert await versions_of(work, first) == [(1, "FeeRegistered", 300)]


async def test_a_row_whose_stored_version_is_newer_is_left_as_it_is(work: UnitOfWork) -> None:
    """A row written without its versions (a ledger loaded by `seed-ledger`) is newer than what arrives."""
    fee = fee_registered(PATIENT, VISIT, unit=UNIT, paid=300)
    await recorded(work, fee)
    async with work.begin() as tx:
        await tx.conn.execute(text("UPDATE fees SET version = 3 WHERE fee_id = :fee_id"), {"fee_id": fee.fee_id})
    assert await recorded(work, corrected(fee, date(2025, 2, 14))) == []
    assert await recorded(work, deleted(fee, version=2)) == []
    assert await row_of(work, fee) == {"version": 3, "visit_date": fee.visit_date, "fee_amount": 300, "deleted": False}
