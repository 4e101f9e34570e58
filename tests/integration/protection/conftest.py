"""Protection in a process of its own against the session's Kafka and PostgreSQL, with the development
identity header switched on, and access in this process: the desk that calls protection, and the units
of these tests, are imported into access, which publishes their grants."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

import protection as protection_package
from contracts.envelope import Envelope, Event
from contracts.events import FeeCorrected, FeeDeleted, FeeRegistered
from contracts.identity import IdentityNumber
from contracts.integration import FeeSource
from contracts.topics import FEES
from efrikort.infra.paths import var_dir
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from efrikort.through_access import PartialExport
from protection.settings import ProtectionSettings
from runtime.consumers import Delivery
from runtime.outbox import envelope_headers
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET
from runtime.transaction import UnitOfWork
from tests.actors import AccessInProcess, access_in_process, admit
from tests.infra_fixtures import free_ports
from tests.integration.conftest import service_work
from tests.kafka_clients import plain_producer
from tests.submissions import new_patient

# Units and people of these tests alone: the well-known example unit's grants are changed by other tests
# on the session's shared grants topic.
UNIT_A, UNIT_B, UNIT_C = "SE2321000016-UA", "SE2321000016-UB", "SE2321000099-UC"
"""A and B belong to the desk's provider; C to another provider in the same region."""
DESK_PROVIDER = "SE2321000016-A9P1"
OTHER_PROVIDER = "SE2321000099-A9"
REGION = "Region Exempel"
DESK_ID = "SE2321000016-E9P1"
DESK = {"X-HSA-ID": DESK_ID}
"""A user (`EFK;Användare`) at unit A, so of the same provider as unit B."""


@pytest.fixture(scope="package")
def protection(infra: InfraEndpoints) -> Iterator[ServiceProcess]:
    env = {
        **infra.service_env("protection"),
        "EFRIKORT_OUTBOX_POLL_INTERVAL_S": "0.1",
        "EFRIKORT_TRUST_IDENTITY_HEADER": "true",
    }
    log = var_dir() / "test" / "logs" / time.strftime("%Y%m%d-%H%M%S") / "protection-integration.log"
    process = ServiceProcess("protection", free_ports(1)[0], env, log)
    process.start()
    try:
        process.wait_ready(timeout=120)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
async def access(infra: InfraEndpoints) -> AsyncIterator[AccessInProcess]:
    async with access_in_process(infra) as running:
        yield running


@pytest.fixture(scope="package")
async def granted(protection: ServiceProcess, access: AccessInProcess, infra: InfraEndpoints) -> ServiceProcess:
    """Protection, once its read model holds the grants access gives the units of these tests and the desk."""
    actors = PartialExport(REGION)
    desks, others = actors.provider(DESK_PROVIDER), actors.provider(OTHER_PROVIDER)
    actors.unit(UNIT_A, desks)
    actors.unit(UNIT_B, desks)
    actors.unit(UNIT_C, others)
    actors.employee(DESK_ID, UNIT_A)
    await admit(infra, actors, access=access.name, readers=("protection",))
    return protection


@pytest.fixture
async def work(infra: InfraEndpoints) -> AsyncIterator[UnitOfWork]:
    """Protection's schema under a name of this test's own, and a unit of work on it (no service runs)."""
    async with service_work(infra, ProtectionSettings, protection_package, producer="protection") as work:
        yield work


@pytest.fixture
async def producer(infra: InfraEndpoints) -> AsyncIterator[AIOKafkaProducer]:
    async with plain_producer(infra.kafka_bootstrap_servers) as p:
        yield p


@pytest.fixture
async def http(granted: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=granted.url, timeout=10, headers=DESK) as client:
        yield client


def fee_registered(
    patient: str, visit: date, amount: int = 300, *, unit: str = UNIT_A, paid: int | None = None
) -> FeeRegistered:
    """A fee as registration records it (version 1), for a patient known by key only: what the tests that call
    protection's handler and store in this process give them."""
    return FeeRegistered(
        fee_id=uuid.uuid4(),
        version=1,
        submission_id=str(uuid.uuid4()),
        system_id=None,
        patient_key=patient,
        birth_date=date(1985, 4, 12),
        visit_date=visit,
        care_unit=unit,
        registered_by="SE2321000016-E001",
        fee_type="doctor_visit",
        fee_amount=amount,
        paid_amount=paid,
        source=FeeSource.VISIT,
        registered_at=datetime.now(UTC),
    )


def as_delivery(event: Event, patient: str, offset: int) -> Delivery:
    """The event as protection's consumer hands it to the handler, keyed by its patient."""
    envelope = Envelope.wrap(event, producer="registration", correlation_id=str(uuid.uuid4()))
    headers = {"event_type": envelope.event_type, "event_id": str(envelope.event_id)}
    return Delivery(FEES.name, 0, offset, patient.encode(), envelope.model_dump_json().encode(), headers)


class Patient:
    """One patient's fees, published as registration would."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.identity = new_patient()
        self.number = IdentityNumber.parse(self.identity)
        self.key = patient_key(self.number.digits, DEV_PATIENT_KEY_SECRET)
        self.producer = producer
        self.fees: dict[str, FeeRegistered] = {}
        self.event_ids: dict[str, uuid.UUID] = {}

    async def publish(self, event: Event) -> Envelope[Any]:
        envelope = Envelope.wrap(event, producer="registration", correlation_id=str(uuid.uuid4()))
        await self.producer.send_and_wait(
            FEES.name,
            envelope.model_dump_json().encode(),
            key=self.key.encode(),
            headers=[(k, v.encode()) for k, v in envelope_headers(envelope).items()],
        )
        return envelope

    async def register(
        self,
        name: str,
        visit: date,
        amount: int,
        unit: str = UNIT_A,
        paid: int | None = None,
        fee_type: str = "doctor_visit",
    ) -> FeeRegistered:
        fee = self.fee(name, visit, amount, unit, paid, fee_type)
        self.event_ids[name] = (await self.publish(fee)).event_id
        return fee

    def fee(
        self,
        name: str,
        visit: date,
        amount: int,
        unit: str = UNIT_A,
        paid: int | None = None,
        fee_type: str = "doctor_visit",
    ) -> FeeRegistered:
        """The fee as registration records it (version 1), kept under its name but not yet sent."""
        fee = FeeRegistered(
            fee_id=uuid.uuid4(),
            version=1,
            submission_id=str(uuid.uuid4()),
            system_id="SE2321000016-SYS1",
            patient_key=self.key,
            birth_date=self.number.birth_date,
            visit_date=visit,
            care_unit=unit,
            registered_by="SE2321000016-E001",
            fee_type=fee_type,
            fee_amount=amount,
            paid_amount=paid,
            source=FeeSource.RECEIPT if fee_type.startswith("receipt") else FeeSource.VISIT,
            receipt_issuer="Region Annan" if fee_type.startswith("receipt") else None,
            registered_at=datetime.now(UTC),
        )
        self.fees[name] = fee
        return fee

    async def correct(self, name: str, visit: date) -> None:
        """The fee as registered, moved to another visit date (version 2)."""
        fee = self.fees[name]
        await self.publish(
            FeeCorrected(
                **fee.model_dump(exclude={"version", "visit_date"}),
                version=2,
                visit_date=visit,
                corrected_by="SE2321000016-E009",
                corrected_at=datetime.now(UTC),
            )
        )

    async def delete(self, name: str) -> None:
        fee = self.fees[name]
        await self.publish(
            FeeDeleted(
                fee_id=fee.fee_id,
                version=2,
                patient_key=self.key,
                care_unit=fee.care_unit,
                deleted_by="SE2321000016-E009",
                deleted_at=datetime.now(UTC),
            )
        )
