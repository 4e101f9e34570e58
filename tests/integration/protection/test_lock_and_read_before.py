"""A batch takes its patients' locks and reads where its fees stand and its patients' checkpoints in one
round trip (`store.lock_and_read_before`). What it reads must be what the lock's last holder committed: a
batch that read an older snapshot would start the patient's recomputation from a stale checkpoint, or miss
that a fee already stood elsewhere. Against real PostgreSQL, two connections."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from protection import store
from protection.ledger import Checkpoint, FreeCard, ReplayPosition
from runtime.transaction import UnitOfWork
from tests.integration.protection.conftest import fee_registered

pytestmark = pytest.mark.integration


async def waiting_for_a_lock(work: UnitOfWork) -> None:
    """Until a backend of this database waits for an advisory lock."""
    async with work.engine.connect() as conn:
        for _ in range(200):
            waiting = await conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
            if waiting:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("no batch waited for the patient's lock")


async def test_a_batch_that_waited_for_a_patient_s_lock_reads_what_its_holder_committed(work: UnitOfWork) -> None:
    patient = f"lock-patient-{uuid.uuid4().hex[:8]}"
    fee = fee_registered(patient, date(2025, 3, 1), paid=300)
    checkpoint = Checkpoint(
        ReplayPosition(fee.visit_date, fee.registered_at, fee.fee_id),
        FreeCard(date(2025, 1, 10), date(2025, 3, 1), date(2026, 1, 9), 1450),
    )
    async with work.engine.begin() as holder:
        # Another batch of the patient's: it holds the lock, records the fee and stores a checkpoint.
        await store.lock_patients(holder, [patient])
        await store.record_fee_versions(holder, [fee])
        row = store.checkpoint_row(patient, checkpoint)
        await holder.execute(
            text(f"INSERT INTO ledger_checkpoints ({', '.join(row)}) VALUES ({', '.join(f':{c}' for c in row)})"),
            row,
        )

        async def next_batch() -> store.BeforeRecording:
            async with work.begin() as tx:
                return await store.lock_and_read_before(tx.conn, [fee.fee_id], [patient])

        reading = asyncio.create_task(next_batch())
        await waiting_for_a_lock(work)
    before = await asyncio.wait_for(reading, timeout=10)

    assert before.positions == [store.FeePosition(patient, checkpoint.after)]
    assert before.checkpoints == {patient: checkpoint}
