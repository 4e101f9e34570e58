"""The notifications service in this process against the session's Kafka and PostgreSQL, with a real
SMTP server and a real HTTP receiver standing in for the mail server and the digital mailbox.

The people who call it get their grants as everyone does: imported into an access service run in this
process too, which publishes them.

It runs under a fresh name (its own schema, role and consumer group), so that it does not share
work with a notifications process the end-to-end tests may have running. That process reads the
same topics and so sends its own notices too; its webhook secret differs, and the receiver counts
only requests signed with this instance's, as a mailbox would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy

from contracts.access_events import AccessRole
from contracts.envelope import Envelope, Event
from contracts.topics import Topic
from efrikort.infra.stack import InfraEndpoints
from efrikort.through_access import PartialExport
from notifications.app import build
from notifications.settings import NotificationsSettings
from runtime.outbox import envelope_headers
from runtime.patient_key import patient_key
from runtime.service import Runtime, create_app
from runtime.settings import DEV_PATIENT_KEY_SECRET
from tests.actors import access_in_process, admit
from tests.kafka_clients import eventually, plain_producer
from tests.notice_receivers import MAILBOX_SETTINGS, HttpReceiver, MailDrop, http_receiver, smtp_server
from tests.submissions import new_patient

WEBHOOK_SECRET = "test-webhook-secret"
MAX_ATTEMPTS = 4
CLOSE_TO_CEILING_KRONOR = 300

# Units and people of these tests alone: the well-known example unit's grants are changed by other tests
# on the session's shared grants topic.
CENTRAL_SUPPORT_UNIT = "SE2321000016-U9N1"
OPERATOR_ID = "SE2321000016-OP01"
OPERATOR = {"X-HSA-ID": OPERATOR_ID}
"""Central support (`EFK;Superanvändare`): the one role that may see and resend notices."""
CLERK_UNIT = "SE2321000016-U9N2"
CLERK_ID = "SE2321000016-E9N2"
CLERK = {"X-HSA-ID": CLERK_ID}
"""A user (`EFK;Användare`) at a unit: may set a patient's contact details, not work the notices."""
LOOKER_ID = "SE2321000016-E9N3"
LOOKER = {"X-HSA-ID": LOOKER_ID}
"""A limited user (`EFK;BegränsadAnvändare`) at the clerk's unit: may look contact details up, not change them."""


def actors() -> PartialExport:
    """The operator, the clerk and the looker, at their units."""
    made = PartialExport("Region Exempel")
    provider = made.provider("SE2321000016-P9N1")
    made.employee(OPERATOR_ID, made.unit(CENTRAL_SUPPORT_UNIT, provider), role=AccessRole.SUPERUSER)
    made.employee(CLERK_ID, made.unit(CLERK_UNIT, provider))
    made.employee(LOOKER_ID, CLERK_UNIT, role=AccessRole.LIMITED_USER)
    return made


@dataclass
class Patient:
    identity_number: str

    @property
    def key(self) -> str:
        return patient_key(self.identity_number.replace("-", ""), DEV_PATIENT_KEY_SECRET)


@dataclass
class Connections:
    """The connections to PostgreSQL a service's engine has opened: its pool's, and any beyond it."""

    opened: int = 0

    def count(self, *_: object) -> None:
        self.opened += 1


@dataclass
class NotificationsUnderTest:
    name: str
    http: httpx.AsyncClient
    db: asyncpg.Connection
    bootstrap: str
    mail: MailDrop
    receiver: HttpReceiver
    letters: Path
    access: str
    """The name (and schema) of the access service run beside it, which gives the tests' people their grants."""
    connections: Connections

    async def set_contact(self, patient: Patient, **details: Any) -> httpx.Response:
        response = await self.http.put(
            "/v1/patients/contact", json={"patient_id": patient.identity_number, **details}, headers=CLERK
        )
        assert response.status_code == 200, response.text
        return response

    async def publish(self, topic: Topic, key: str, event: Event | Envelope[Any]) -> Envelope[Any]:
        """Publish as the producing service would (envelope, event headers); an envelope is sent as it is,
        which is how a test redelivers the same event."""
        [envelope] = await self.publish_all(topic, [(key, event)])
        return envelope

    async def publish_all(
        self, topic: Topic, events: Sequence[tuple[str, Event | Envelope[Any]]]
    ) -> list[Envelope[Any]]:
        """Publish several at once, keyed as given, through one producer: they arrive together."""
        keyed = [
            (
                key,
                event
                if isinstance(event, Envelope)
                else Envelope.wrap(event, producer="protection", correlation_id=str(uuid.uuid4())),
            )
            for key, event in events
        ]
        async with plain_producer(self.bootstrap) as producer:
            sent = [
                await producer.send(
                    topic.name,
                    envelope.model_dump_json().encode(),
                    key=key.encode(),
                    headers=[(name, value.encode()) for name, value in envelope_headers(envelope).items()],
                )
                for key, envelope in keyed
            ]
            await asyncio.gather(*sent)
        return [envelope for _, envelope in keyed]

    async def notices_of(self, patient: Patient) -> list[asyncpg.Record]:
        return await self.db.fetch(f"SELECT * FROM {self.name}.notices WHERE patient_key = $1 ORDER BY id", patient.key)

    async def wait_for_notices(self, patient: Patient, state: str, count: int = 1, timeout: float = 30) -> list[Any]:
        async def in_state() -> list[asyncpg.Record]:
            found = [n for n in await self.notices_of(patient) if n["state"] == state]
            return found if len(found) >= count else []

        found = await eventually(in_state, timeout=timeout)
        assert found, f"no {state} notice for the patient after {timeout}s: {await self.notices_of(patient)}"
        return list(found)


@pytest.fixture
def patient() -> Patient:
    return Patient(new_patient())


@pytest.fixture(scope="module")
def mail() -> Iterator[tuple[MailDrop, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver(WEBHOOK_SECRET) as running:
        yield running


@pytest.fixture(scope="module")
async def notifications(
    infra: InfraEndpoints, mail: tuple[MailDrop, int], receiver: HttpReceiver, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[NotificationsUnderTest]:
    name = f"notifications_test_{uuid.uuid4().hex[:10]}"
    letters = tmp_path_factory.mktemp("letters")
    settings = NotificationsSettings(
        service_name=name,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=infra.database_url,
        service_database_url=None,
        trust_identity_header=True,
        outbox_poll_interval_s=0.05,
        consumer_retry_backoff_s=0.01,
        smtp_host="127.0.0.1",
        smtp_port=mail[1],
        smtp_security="none",
        email_sender="Region Test <frikort@region.test>",
        webhook_secret=WEBHOOK_SECRET,
        **MAILBOX_SETTINGS,
        letter_folder=letters,
        max_attempts=MAX_ATTEMPTS,
        backoff_initial_s=0.2,
        backoff_max_s=1.0,
        poll_interval_s=0.1,
        lease_s=30,
        close_to_ceiling_kronor=CLOSE_TO_CEILING_KRONOR,
        region_name="Region Testland",
        region_phone="010-000 00 00",
        region_web="https://region.test/frikort",
    )
    runtime = Runtime(settings)
    connections = Connections()
    sqlalchemy.event.listen(runtime.engine.sync_engine, "connect", connections.count)
    app = create_app(build(runtime), runtime)
    db = await asyncpg.connect(infra.database_url)
    try:
        async with (
            access_in_process(infra) as access,
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications") as http,
        ):

            async def ready() -> bool:
                return (await http.get("/ready")).status_code == 200

            assert await eventually(ready, timeout=60, interval=0.2), (await http.get("/ready")).json()
            await admit(infra, actors(), access=access.name, readers=(name,))
            yield NotificationsUnderTest(
                name,
                http,
                db,
                infra.kafka_bootstrap_servers,
                mail[0],
                receiver,
                letters,
                access.name,
                connections,
            )
    finally:
        await db.execute(f"DROP OWNED BY efrikort_{name} CASCADE")
        await db.execute(f"DROP ROLE IF EXISTS efrikort_{name}")
        await db.close()


FREE_CARD_FROM = date(2025, 8, 23)
FREE_CARD_TO = date(2026, 4, 24)
