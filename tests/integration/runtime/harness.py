"""A tiny service built on the shared runtime, to test the runtime's guarantees end to end.

Each test module gets a service of its own. Its name is fresh, so its schema, role, consumer
group and topics are too, and nothing another module (or an earlier session on a shared server)
did can leak in. Its one consumer runs, for each message, the behaviour the test attached to
that message, so the handler a test relies on is written in the test itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

import asyncpg
import httpx
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from contracts.envelope import Envelope, Event
from contracts.topics import Topic
from efrikort.infra.stack import InfraEndpoints
from runtime.consumers import Consumer, Delivery
from runtime.http import UnitOfWorkDep, provided
from runtime.partitioner import default_partitioner
from runtime.service import Runtime, Service, create_app
from runtime.settings import ServiceSettings
from runtime.transaction import Transaction
from tests.kafka_clients import eventually, plain_producer

log = logging.getLogger(__name__)

# The migration folder is written out per service, as a real service has it in its package.
ENV_PY = '''"""Alembic environment: the shared one, in this test service's schema."""

from runtime.migrations import run_environment

run_environment()
'''

FIRST_VERSION = '''"""Messaging tables, and the effects the test handlers leave.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from runtime.migrations import create_messaging_tables, create_outbox_hold_and_release

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    create_outbox_hold_and_release()
    # No unique constraint on purpose: a message handled twice must show as two rows.
    op.create_table(
        "effects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
'''


GRANTS_VERSION = '''"""The access grants read model, as a service that decides with them has it.

Revision ID: 0002
"""

from runtime.access_grants import create_grants_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_grants_table()
'''


def write_migrations(directory: Path, *, with_grants: bool = False) -> Path:
    (directory / "versions").mkdir(parents=True)
    (directory / "env.py").write_text(ENV_PY)
    (directory / "versions" / "0001_effects.py").write_text(FIRST_VERSION)
    if with_grants:
        (directory / "versions" / "0002_grants.py").write_text(GRANTS_VERSION)
    return directory


def unique_service_name() -> str:
    return f"rt_test_{uuid.uuid4().hex[:12]}"


def settings_for(name: str, infra: InfraEndpoints, **overrides: object) -> ServiceSettings:
    """Settings for a test service: short back-off and poll interval, so the tests take seconds."""
    values: dict[str, object] = {
        "service_name": name,
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "database_url": infra.database_url,
        # Always provision, whatever the environment says: the test service owns nothing beforehand.
        "service_database_url": None,
        "consumer_max_attempts": 3,
        "consumer_retry_backoff_s": 0.01,
        "outbox_poll_interval_s": 0.05,
        **overrides,
    }
    return ServiceSettings(**values)  # type: ignore[arg-type]


class Noted(Event):
    """What the test handlers emit: for which message, its how-manieth event, on which attempt."""

    event_type: ClassVar[str] = "RtTestNoted"

    message_id: str
    seq: int
    attempt: int


@dataclass
class Attempt:
    """One try at handling one test message, as the test's behaviour sees it."""

    message_id: str
    number: int
    delivery: Delivery
    tx: Transaction
    output: Topic

    async def record_effect(self) -> None:
        await self.tx.conn.execute(
            text("INSERT INTO effects (message_id, attempt) VALUES (:message_id, :attempt)"),
            {"message_id": self.message_id, "attempt": self.number},
        )

    async def emit(self, seq: int = 0) -> Envelope[Noted]:
        """An event on the output topic, keyed like the message that caused it."""
        key = self.delivery.key.decode() if self.delivery.key else self.message_id
        return await self.tx.emit(self.output, key, Noted(message_id=self.message_id, seq=seq, attempt=self.number))


Behaviour = Callable[[Attempt], Awaitable[None]]


async def record_effect(attempt: Attempt) -> None:
    """The plain, successful handling: one row in `effects`."""
    await attempt.record_effect()


@dataclass(frozen=True)
class Sent:
    """A message as the test published it, with where Kafka put it."""

    message_id: str
    key: bytes
    value: bytes
    partition: int
    offset: int


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {name: raw.decode() for name, raw in (record.headers or ())}


_notes = APIRouter()


@_notes.post("/notes/{message_id}")
async def _note(message_id: str, work: UnitOfWorkDep, output: Annotated[Topic, Depends(provided(Topic))]) -> None:
    """Emits one event in a transaction of the request's own, and logs a line, as a route of a real service."""
    log.info("noting %s", message_id)
    async with work.begin() as tx:
        await tx.emit(output, message_id, Noted(message_id=message_id, seq=0, attempt=1))


class TinyService:
    """The service under test: consumes one topic, produces to two, writes to `effects`."""

    def __init__(self, infra: InfraEndpoints, workdir: Path, *, gathers: bool = False, **settings: object) -> None:
        self.infra = infra
        self.gathers = gathers
        """Its consumer is one no caller waits on (`Consumer.gathers`)."""
        self.name = unique_service_name()
        tag = self.name.removeprefix("rt_test_")
        self.input = Topic(f"efrikort.rt-test-{tag}.v1", partitions=3, key="message id", description="test input")
        self.output = Topic(f"efrikort.rt-test-{tag}-out.v1", partitions=3, key="message key", description="events")
        # Never written to: only here to show a produced topic gets its catalogue cleanup policy.
        self.snapshots = Topic(
            f"efrikort.rt-test-{tag}-snapshots.v1",
            partitions=2,
            key="message key",
            description="compacted",
            cleanup_policy="compact",
        )
        self.migrations = write_migrations(workdir / "migrations")
        self.settings = settings_for(self.name, infra, **settings)
        self.behaviours: dict[str, Behaviour] = {}
        # Tries per message id, over every instance of the service in this process.
        self.attempts: Counter[str] = Counter()
        self._db: asyncpg.Connection | None = None
        self.runtime: Runtime[ServiceSettings] | None = None
        """The instance running last (`running`), to look at its machinery."""

    @property
    def topics(self) -> list[Topic]:
        return [self.input, self.input.dead_letter, self.output, self.snapshots]

    def definition(self) -> Service:
        return Service(
            name=self.name,
            migrations=self.migrations,
            consumers=[Consumer(self.input, group=self.name, handler=self._handle, gathers=self.gathers)],
            produces=[self.output, self.snapshots],
            router=_notes,
            provides=[self.output],
        )

    async def _handle(self, delivery: Delivery, tx: Transaction) -> None:
        message_id = json.loads(delivery.value)["id"]
        self.attempts[message_id] += 1
        behaviour = self.behaviours.get(message_id, record_effect)
        await behaviour(Attempt(message_id, self.attempts[message_id], delivery, tx, self.output))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[httpx.AsyncClient]:
        """One instance of the service, started as uvicorn would (the FastAPI lifespan), until ready.

        Yields an HTTP client for its routes. Each call is a new instance: new runtime, new broker,
        new engine, same name.
        """
        runtime = self.runtime = Runtime(self.settings)
        app = create_app(self.definition(), runtime)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as http,
        ):

            async def ready() -> bool:
                return (await http.get("/ready")).status_code == 200

            # Ready only once the consumer holds its partitions; the group join takes a moment.
            assert await eventually(ready, timeout=30, interval=0.1), (await http.get("/ready")).json()
            yield http

    async def send(
        self,
        behaviour: Behaviour = record_effect,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
        partition: int | None = None,
        padding: int = 0,
    ) -> Sent:
        """Publish a test message with a plain producer, as another service would, and say how to handle it.
        `padding` adds that many bytes to its value."""
        message_id = message_id or uuid.uuid4().hex
        self.behaviours[message_id] = behaviour
        value = json.dumps({"id": message_id, **({"padding": "x" * padding} if padding else {})}).encode()
        raw_key = (key or message_id).encode()
        async with plain_producer(self.infra.kafka_bootstrap_servers) as producer:
            metadata = await producer.send_and_wait(
                self.input.name,
                value,
                key=raw_key,
                partition=partition,
                headers=[(name, v.encode()) for name, v in (headers or {}).items()],
            )
        return Sent(message_id, raw_key, value, metadata.partition, metadata.offset)

    async def send_together(self, *behaviours: Behaviour, key: str) -> list[Sent]:
        """Several messages with one key in one producer batch, so that one poll fetches them all."""
        ids = [uuid.uuid4().hex for _ in behaviours]
        self.behaviours.update(zip(ids, behaviours, strict=True))
        async with plain_producer(self.infra.kafka_bootstrap_servers) as producer:
            batch = producer.create_batch()
            for message_id in ids:
                batch.append(key=key.encode(), value=json.dumps({"id": message_id}).encode(), timestamp=None)
            partitions = sorted(await producer.partitions_for(self.input.name))
            partition = default_partitioner(key.encode(), partitions, partitions)
            metadata = await (await producer.send_batch(batch, self.input.name, partition=partition))
        return [
            Sent(message_id, key.encode(), json.dumps({"id": message_id}).encode(), partition, metadata.offset + i)
            for i, message_id in enumerate(ids)
        ]

    async def forget_db_connection(self) -> None:
        """After the test's PostgreSQL was restarted: the next look connects anew."""
        if self._db is not None:
            with contextlib.suppress(Exception):
                await self._db.close()
        self._db = None

    async def db(self) -> asyncpg.Connection:
        """A superuser connection, to look into the service's schema from outside."""
        if self._db is None:
            self._db = await asyncpg.connect(self.infra.database_url)
        return self._db

    async def effects(self, message_id: str) -> list[int]:
        """The attempt numbers of the effects the message left, in the order they were written."""
        db = await self.db()
        rows = await db.fetch(f"SELECT attempt FROM {self.name}.effects WHERE message_id = $1 ORDER BY id", message_id)
        return [row["attempt"] for row in rows]

    async def wait_for_effects(self, message_id: str, timeout: float = 15) -> list[int]:
        async def written() -> list[int]:
            return await self.effects(message_id)

        return await eventually(written, timeout=timeout, interval=0.05)

    async def transactions_of(self, message_ids: list[str]) -> int:
        """In how many transactions the messages' effects were written: an effect's `created_at` is its
        transaction's start (`now()`), and a poll is handled in one transaction."""
        db = await self.db()
        query = f"SELECT count(DISTINCT created_at) FROM {self.name}.effects WHERE message_id = ANY($1::text[])"
        return int(await db.fetchval(query, message_ids))

    async def outbox_size(self) -> int:
        db = await self.db()
        return int(await db.fetchval(f"SELECT count(*) FROM {self.name}.outbox"))

    async def committed_offsets(self) -> dict[TopicPartition, int]:
        """What the service's consumer group has committed, per partition."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.kafka_bootstrap_servers, **self.infra.admin_options())
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.name)
        finally:
            await admin.close()
        return {tp: meta.offset for tp, meta in offsets.items()}

    async def close(self) -> None:
        """Remove the service's role, schema and topics, so a shared server does not fill up with them."""
        db = await self.db()
        # DROP OWNED takes the schema (its owner is the role) and the CONNECT grant with it.
        await db.execute(f"DROP OWNED BY {self.settings.database_role} CASCADE")
        await db.execute(f"DROP ROLE IF EXISTS {self.settings.database_role}")
        await db.close()
        self._db = None
        admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.kafka_bootstrap_servers, **self.infra.admin_options())
        await admin.start()
        try:
            await admin.delete_topics([topic.name for topic in self.topics])
        finally:
            await admin.close()


async def metric(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """A sample's value as /metrics shows it; 0 when the series has not been touched yet."""
    response = await http.get("/metrics")
    response.raise_for_status()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
