"""DOMAIN.md: an overcharge stays open until the unit marks it refunded, and a refunded amount is never
owed again. A refund marked while a recomputation of the same patient is under way stays marked: the
recomputation does not write back the open overcharge it read, and the unit is not asked to pay twice.

Against real PostgreSQL, two connections: a recomputation reads the patient's history and stops before
writing; a refund of the overcharge is marked from another connection; the recomputation finishes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.events import FeeCorrected, FeeRegistered
from protection import store
from protection.handlers import on_fee_events
from protection.regions import RegionSettings
from runtime.consumers import Delivery
from runtime.transaction import UnitOfWork
from tests.integration.protection.conftest import as_delivery, fee_registered

pytestmark = pytest.mark.integration

REGION = RegionSettings.load()
PATIENT = "race-patient-key"
UNIT_A, UNIT_B, UNIT_C = "SE2321000016-RA", "SE2321000016-RB", "SE2321000099-RC"


class Fees:
    """Fee events as registration publishes them, one patient's."""

    def __init__(self) -> None:
        self.offset = 0
        self.fees: dict[uuid.UUID, FeeRegistered] = {}

    def delivery(self, event: FeeRegistered | FeeCorrected) -> Delivery:
        self.offset += 1
        return as_delivery(event, PATIENT, self.offset)

    def registered(self, day: date, amount: int, unit: str, paid: int | None = None) -> Delivery:
        fee = fee_registered(PATIENT, day, amount, unit=unit, paid=paid)
        self.fees[fee.fee_id] = fee
        return self.delivery(fee)

    def corrected(self, fee_id: uuid.UUID, amount: int) -> Delivery:
        fee = self.fees[fee_id]
        fields: dict[str, Any] = {
            **fee.model_dump(),
            "version": 2,
            "fee_amount": amount,
            "paid_amount": amount,
            "corrected_by": "SE2321000016-E001",
            "corrected_at": datetime.now(UTC),
        }
        return self.delivery(
            FeeCorrected.model_validate({k: v for k, v in fields.items() if k in FeeCorrected.model_fields})
        )


async def recompute(work: UnitOfWork, *deliveries: Delivery) -> None:
    async with work.begin() as tx:
        await on_fee_events(deliveries, tx, region=REGION)


async def refund(work: UnitOfWork, overcharge_id: uuid.UUID) -> bool:
    """What marking an overcharge refunded does in the database (the route's own store calls)."""
    async with work.begin() as tx:
        row = await store.overcharge_for_update(tx.conn, overcharge_id)
        assert row is not None
        return row.state == "open" and await store.mark_refunded(
            tx.conn, overcharge_id, "SE2321000016-E001", datetime.now(UTC)
        )


async def overcharges(work: UnitOfWork) -> list[dict[str, Any]]:
    async with work.engine.connect() as conn:
        rows = await conn.exec_driver_sql("SELECT overcharge_id, state, amount FROM overcharges ORDER BY found_at")
        return [dict(row._mapping) for row in rows]


def paused_before_writing(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """A recomputation that has read the history stops before it records what changed, until let go."""
    has_read, go_on = asyncio.Event(), asyncio.Event()
    record_changes: Callable[..., Awaitable[None]] = store.record_changes

    async def paused(*args: Any) -> None:
        has_read.set()
        await go_on.wait()
        await record_changes(*args)

    monkeypatch.setattr(store, "record_changes", paused)
    return has_read, go_on


async def test_a_refund_marked_during_a_recomputation_stays_marked(
    work: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    fees = Fees()
    # 1 000 at unit A, 300 at unit B (each paid as assessed); then a receipt of 450 from before B's visit
    # reaches the ceiling earlier: B's 300 falls under the free card and B owes the patient 300.
    await recompute(
        work, fees.registered(date(2025, 4, 25), 1000, UNIT_A), fees.registered(date(2025, 10, 10), 300, UNIT_B)
    )
    receipt = fees.registered(date(2025, 6, 1), 450, UNIT_C, paid=450)
    await recompute(work, receipt)
    [found] = await overcharges(work)
    assert (found["state"], found["amount"]) == ("open", 300)

    # The receipt is corrected to 200: B's visit is partly due again, the overcharge is recomputed (50).
    has_read, go_on = paused_before_writing(monkeypatch)
    receipt_id = next(fee_id for fee_id, fee in fees.fees.items() if fee.care_unit == UNIT_C)
    recomputation = asyncio.create_task(recompute(work, fees.corrected(receipt_id, 200)))
    await asyncio.wait_for(has_read.wait(), timeout=10)
    marking = asyncio.create_task(refund(work, found["overcharge_id"]))
    await asyncio.wait([marking], timeout=1.0)  # the refund commits now, or waits for the recomputation
    go_on.set()
    await asyncio.wait_for(recomputation, timeout=10)
    assert await asyncio.wait_for(marking, timeout=10)

    # The refund waited for the recomputation and marked the overcharge as it now stands.
    [after] = await overcharges(work)
    assert (after["state"], after["amount"]) == ("refunded", 50)
