"""The ledger's checkpoint (issue 17) through real Kafka and PostgreSQL: a new fee is recomputed from the
checkpoint on, a change before it replays the whole history, and what is stored is always what a fresh
full replay of the patient's fees gives; a patient whose checkpoint is missing heals on the next fee."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from contracts.topics import INTERNAL_FEE_OUTCOMES
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from protection.ledger import Fee, Ledger, replay
from protection.regions import RegionSettings
from tests.integration.protection.conftest import Patient
from tests.kafka_clients import TopicReader, eventually, reading

pytestmark = pytest.mark.integration

SCHEMA = "protection"


async def fees_of(db: asyncpg.Connection, patient: Patient) -> list[Fee]:
    rows = await db.fetch(
        f"SELECT fee_id, visit_date, registered_at, fee_type, fee_amount, birth_date, care_unit, "
        f"coalesce(paid_amount, charged_amount) AS paid FROM {SCHEMA}.fees WHERE patient_key = $1 AND NOT deleted",
        patient.key,
    )
    return [Fee(*row) for row in rows]


async def checkpoint_of(db: asyncpg.Connection, patient: Patient) -> tuple[Any, ...] | None:
    row = await db.fetchrow(
        f"SELECT visit_date, registered_at, fee_id, card_valid_from, card_valid_to "
        f"FROM {SCHEMA}.ledger_checkpoints WHERE patient_key = $1",
        patient.key,
    )
    return tuple(row) if row is not None else None


async def ledger_as_stored(db: asyncpg.Connection, patient: Patient) -> dict[str, Any]:
    cards = await db.fetch(
        f"SELECT period_start, valid_from, valid_to FROM {SCHEMA}.free_cards "
        f"WHERE patient_key = $1 AND revoked_at IS NULL ORDER BY valid_from",
        patient.key,
    )
    owed = await db.fetch(
        f"SELECT fee_id, amount FROM {SCHEMA}.overcharges WHERE patient_key = $1 AND state = 'open' AND amount > 0",
        patient.key,
    )
    return {
        "cards": [tuple(card) for card in cards],
        "owed": {row["fee_id"]: row["amount"] for row in owed},
        "checkpoint": await checkpoint_of(db, patient),
    }


def ledger_replayed(fees: list[Fee]) -> dict[str, Any]:
    """What a fresh full replay of the fees says the store should hold."""
    ledger: Ledger = replay(fees, RegionSettings.load())
    owed = {
        fee.fee_id: fee.paid_amount - ledger.assessments[fee.fee_id].amount_due
        for fee in fees
        if fee.paid_amount is not None and fee.paid_amount > ledger.assessments[fee.fee_id].amount_due
    }
    checkpoint = ledger.checkpoint
    card = checkpoint.card if checkpoint is not None else None
    return {
        "cards": [(c.period_start, c.valid_from, c.valid_to) for c in ledger.free_cards],
        "owed": owed,
        "checkpoint": None
        if checkpoint is None
        else (*checkpoint.after, card.valid_from if card else None, card.valid_to if card else None),
    }


async def answered(outcomes: TopicReader, patient: Patient, *names: str) -> None:
    wanted = {patient.fees[name].submission_id.encode() for name in names}
    await outcomes.wait_for(lambda r: r.key in wanted, count=len(wanted))


async def register_history(patient: Patient, outcomes: TopicReader, fees: int) -> None:
    """A visit every 40 days from January 2023, 500 kr each paid at the desk: a free card every third visit."""
    for index in range(fees):
        await patient.register(f"visit {index}", date(2023, 1, 2) + timedelta(days=40 * index), 500, paid=500)
    await answered(outcomes, patient, *(f"visit {index}" for index in range(fees)))


async def test_a_late_fee_and_deleting_the_fee_that_reached_the_ceiling_end_in_the_ledger_of_a_full_replay(
    protection: ServiceProcess, producer: AIOKafkaProducer, infra: InfraEndpoints, db: asyncpg.Connection
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        await register_history(patient, outcomes, 24)
        settled = await eventually(lambda: checkpoint_of(db, patient))
        assert settled is not None, "a replay stores its checkpoint"
        assert await ledger_as_stored(db, patient) == ledger_replayed(await fees_of(db, patient))

        # A receipt for a visit long before the checkpoint: the cards from then on move.
        await patient.register("late", date(2023, 2, 1), 400, paid=400)
        await answered(outcomes, patient, "late")
        assert await ledger_as_stored(db, patient) == ledger_replayed(await fees_of(db, patient))

        # The fee the checkpoint stands on (the last to reach the ceiling) is deleted.
        now_settled = await checkpoint_of(db, patient)
        assert now_settled is not None
        reached = next(name for name, fee in patient.fees.items() if fee.fee_id == now_settled[2])
        patient.fees["reached"] = patient.fees[reached]
        await patient.delete("reached")
        gone = f"SELECT deleted FROM {SCHEMA}.fees WHERE fee_id = $1"
        assert await eventually(lambda: db.fetchval(gone, patient.fees["reached"].fee_id))
        stored = await settled_as_replayed(db, patient)
        assert stored == ledger_replayed(await fees_of(db, patient))
        assert stored["owed"], "the deleted fee's neighbours now owe the patient something"

        # One more fee after the (new) checkpoint: recomputed from it, still the full replay's ledger.
        await patient.register("after", date(2026, 11, 1), 300, paid=300)
        await answered(outcomes, patient, "after")
        assert await ledger_as_stored(db, patient) == ledger_replayed(await fees_of(db, patient))


async def test_a_correction_that_moves_a_fee_from_after_the_checkpoint_to_before_it_replays_the_whole_history(
    protection: ServiceProcess, producer: AIOKafkaProducer, infra: InfraEndpoints, db: asyncpg.Connection
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        await register_history(patient, outcomes, 24)
        await patient.register("after", date(2026, 11, 1), 300, paid=300)
        await answered(outcomes, patient, "after")
        settled = await checkpoint_of(db, patient)
        assert settled is not None and settled[0] < date(2026, 11, 1)

        # The visit after the checkpoint was in fact one of the first: from then on the cards move.
        await patient.correct("after", date(2023, 2, 15))
        moved = f"SELECT visit_date FROM {SCHEMA}.fees WHERE fee_id = $1"
        assert await eventually(lambda: _is(db.fetchval(moved, patient.fees["after"].fee_id), date(2023, 2, 15)))
        stored = await settled_as_replayed(db, patient)
        assert stored == ledger_replayed(await fees_of(db, patient))


async def test_a_fee_after_the_checkpoint_that_leaves_it_where_it_stands_does_not_write_it_again(
    protection: ServiceProcess, producer: AIOKafkaProducer, infra: InfraEndpoints, db: asyncpg.Connection
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        await register_history(patient, outcomes, 24)
        settled = await checkpoint_of(db, patient)
        assert settled is not None
        written = await last_written(db, patient)

        await patient.register("after", date(2026, 11, 1), 300, paid=300)
        await answered(outcomes, patient, "after")
        assert await checkpoint_of(db, patient) == settled
        assert await last_written(db, patient) == written, "the checkpoint's row was written again unchanged"
        assert await ledger_as_stored(db, patient) == ledger_replayed(await fees_of(db, patient))


async def last_written(db: asyncpg.Connection, patient: Patient) -> str:
    """The transaction that last wrote the patient's checkpoint row (PostgreSQL's `xmin`)."""
    query = f"SELECT xmin::text FROM {SCHEMA}.ledger_checkpoints WHERE patient_key = $1"
    return str(await db.fetchval(query, patient.key))


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


async def settled_as_replayed(db: asyncpg.Connection, patient: Patient) -> dict[str, Any] | None:
    """The ledger as stored, once it is what a full replay of the patient's fees gives (None if it never is)."""

    async def equal_or_none() -> dict[str, Any] | None:
        ledger, replayed = await ledger_as_stored(db, patient), ledger_replayed(await fees_of(db, patient))
        return ledger if ledger == replayed else None

    return await eventually(equal_or_none, timeout=30)


async def test_a_patient_without_a_checkpoint_is_replayed_in_full_and_gets_one(
    protection: ServiceProcess, producer: AIOKafkaProducer, infra: InfraEndpoints, db: asyncpg.Connection
) -> None:
    patient = Patient(producer)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        await register_history(patient, outcomes, 12)
        # As a ledger seeded by COPY, or written before checkpoints were: none stored.
        await db.execute(f"DELETE FROM {SCHEMA}.ledger_checkpoints WHERE patient_key = $1", patient.key)

        await patient.register("next", date(2024, 6, 1), 500, paid=500)
        await answered(outcomes, patient, "next")
        assert await checkpoint_of(db, patient) is not None
        assert await ledger_as_stored(db, patient) == ledger_replayed(await fees_of(db, patient))
