"""A patient's exit, as protection obeys it: the ledger removed, the compacted status topic tombstoned,
and a fee event that was in flight at the exit ignored until the patient re-enters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from contracts.access_events import PatientExited, PatientReentered
from contracts.envelope import Envelope, Event
from contracts.topics import INTERNAL_FEE_OUTCOMES, PATIENT_MEMBERSHIP, PATIENT_STATUS
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from runtime.consumers import Delivery
from runtime.membership import still_members
from runtime.outbox import envelope_headers
from runtime.settings import async_driver_url
from tests.integration.protection.conftest import Patient
from tests.kafka_clients import eventually, reading

pytestmark = pytest.mark.integration

SCHEMA = "protection"


async def as_access(producer: AIOKafkaProducer, patient: Patient, event: Event) -> None:
    """Publish on the membership topic as the access service does."""
    envelope = Envelope.wrap(event, producer="access", correlation_id=str(uuid.uuid4()))
    await producer.send_and_wait(
        PATIENT_MEMBERSHIP.name,
        envelope.model_dump_json().encode(),
        key=patient.key.encode(),
        headers=[(k, v.encode()) for k, v in envelope_headers(envelope).items()],
    )


async def rows_about(db: asyncpg.Connection, patient: Patient) -> dict[str, int]:
    """Rows with the patient's key in every table of protection's schema but the exit register."""
    found: dict[str, int] = {}
    for table in await db.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'patient_key' "
        "AND table_name <> 'exited_patients'",
        SCHEMA,
    ):
        name = f'"{SCHEMA}"."{table["table_name"]}"'
        if count := await db.fetchval(f"SELECT count(*) FROM {name} WHERE patient_key = $1", patient.key):
            found[name] = count
    return found


async def taken_in(db: asyncpg.Connection, event_id: uuid.UUID) -> bool:
    return bool(await db.fetchval(f"SELECT 1 FROM {SCHEMA}.inbox WHERE message_id = $1", str(event_id)))


async def exited(db: asyncpg.Connection, patient: Patient) -> bool:
    return bool(await db.fetchval(f"SELECT 1 FROM {SCHEMA}.exited_patients WHERE patient_key = $1", patient.key))


async def test_an_exit_tombstones_the_patients_status_and_a_fee_in_flight_does_not_bring_the_patient_back(
    granted: ServiceProcess, producer: AIOKafkaProducer, infra: InfraEndpoints, db: asyncpg.Connection
) -> None:
    patient = Patient(producer)
    async with (
        reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes,
        reading(infra.kafka_bootstrap_servers, PATIENT_STATUS.name) as statuses,
    ):
        first = await patient.register("first", date(2025, 4, 25), 300)
        await outcomes.wait_for(lambda r: r.key == first.submission_id.encode())
        await statuses.wait_for(lambda r: r.key == patient.key.encode() and r.value is not None)
        assert await rows_about(db, patient)

        await as_access(producer, patient, PatientExited(patient_key=patient.key, requested_by="E", exited_at=now()))
        [tombstone] = await statuses.wait_for(lambda r: r.key == patient.key.encode() and r.value is None)
    assert dict(tombstone.headers)["producer"] == b"protection"
    assert await eventually(lambda: exited(db, patient), timeout=30)
    assert await rows_about(db, patient) == {}

    # Registered just before the exit, it reaches protection after: taken in, and nothing comes of it.
    await patient.register("in flight", date(2025, 5, 2), 400)
    assert await eventually(lambda: taken_in(db, patient.event_ids["in flight"]), timeout=30)
    assert await rows_about(db, patient) == {}

    # Back in e-frikort, the patient's next fee counts again, from nothing.
    await as_access(producer, patient, PatientReentered(patient_key=patient.key, requested_by="E", reentered_at=now()))

    async def back_in() -> bool:
        return not await exited(db, patient)

    assert await eventually(back_in, timeout=30)
    async with reading(infra.kafka_bootstrap_servers, INTERNAL_FEE_OUTCOMES.name) as outcomes:
        after = await patient.register("after re-entry", date(2025, 6, 1), 200)
        [record] = await outcomes.wait_for(lambda r: r.key == after.submission_id.encode())
    assert b'"amount_due":200' in record.value and b'"sum":200' in record.value


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def in_protections_schema(infra: InfraEndpoints) -> AsyncIterator[AsyncEngine]:
    """An engine whose transactions work in protection's schema, as a batch of protection's does."""
    engine = create_async_engine(
        async_driver_url(infra.database_url), connect_args={"server_settings": {"search_path": SCHEMA}}
    )
    yield engine
    await engine.dispose()


async def test_a_batch_holds_the_exits_lock_while_it_checks_membership_even_when_no_patient_has_left(
    granted: ServiceProcess, in_protections_schema: AsyncEngine, db: asyncpg.Connection
) -> None:
    """An exit must wait for the batches under way: checking who has left takes the lock first, before the
    register is read, whatever that read finds."""
    member = Delivery("efrikort.fees.v1", 0, 0, f"patient-{uuid.uuid4().hex}".encode(), b"{}", {})
    async with in_protections_schema.begin() as conn:
        assert await still_members(conn, [member]) == [member]
        exit_could_start = await db.fetchval("SELECT pg_try_advisory_lock(hashtext($1 || '.membership'))", SCHEMA)
        assert exit_could_start is False, "an exit could have removed rows the batch was about to write"


async def test_a_batch_that_waited_for_an_exit_sees_the_patient_gone(
    granted: ServiceProcess, infra: InfraEndpoints, in_protections_schema: AsyncEngine, db: asyncpg.Connection
) -> None:
    """The exit commits while the batch waits for its lock: the batch must then read the register as the exit
    left it. A statement reads what was committed when it began, so a read in the statement that waited would
    find the patient still a member, and the batch would write the patient's rows back after the exit."""
    leaving = f"patient-{uuid.uuid4().hex}"
    delivery = Delivery("efrikort.fees.v1", 0, 0, leaving.encode(), b"{}", {})
    exit_ = await asyncpg.connect(infra.database_url)
    try:
        async with exit_.transaction():
            # As `on_membership` does: the exits' lock alone, then the register.
            await exit_.execute("SELECT pg_advisory_xact_lock(hashtext($1 || '.membership'))", SCHEMA)
            await exit_.execute(f"INSERT INTO {SCHEMA}.exited_patients VALUES ($1, now())", leaving)

            async def batch() -> list[Delivery]:
                async with in_protections_schema.begin() as conn:
                    return await still_members(conn, [delivery])

            checking = asyncio.create_task(batch())
            await asyncio.sleep(0.5)
            assert not checking.done(), "the batch did not wait for the exit under way"
        assert await asyncio.wait_for(checking, timeout=10) == [], "the batch took a patient who had left for a member"
    finally:
        await db.execute(f"DELETE FROM {SCHEMA}.exited_patients WHERE patient_key = $1", leaving)
        await exit_.close()
