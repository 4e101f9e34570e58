"""The transactional outbox and its relay.

A service writes the events a change causes into its `outbox` table in the same transaction as
the change itself, so that either both happen or neither. The relay then publishes them in the
order they were written and deletes them once Kafka has acknowledged them. If the relay dies
half-way, the rows stay and are published again: delivery is at-least-once, and consumers
deduplicate on `event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope
from contracts.topics import Topic
from runtime import tracing
from runtime.database import KeptConnection, driver_connection, driver_outside_transaction
from runtime.inbox import TakenIn, writing_taking_in
from runtime.metrics import MESSAGES_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from runtime.migrations import HOLD_OUTBOX_BATCH, OUTBOX_LOCK, RELEASE_OUTBOX_BATCH
from runtime.partitioner import default_partitioner

log = logging.getLogger(__name__)

# The rows get their ids in the order given: the relay publishes in id order.
_INSERT = (
    "INSERT INTO outbox (topic, key, value, headers) "
    "SELECT topic, key, value, headers FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::jsonb[]) "
    "WITH ORDINALITY AS m(topic, key, value, headers, position) ORDER BY position"
)
# The next batch, read by the holder of the schema's outbox lock, who keeps the lock until it lets the batch
# go, deleted, once Kafka has it: through the driver (SQLAlchemy's row handling cost as much as the
# statements), with no transaction around the two. `runtime.migrations.create_outbox_hold_and_release` says
# why they are functions and why the lock is the session's.
HOLD_BATCH = f"SELECT id, topic, key, value, headers, event_type FROM {HOLD_OUTBOX_BATCH}($1)"
RELEASE_BATCH = f"SELECT {RELEASE_OUTBOX_BATCH}($1::bigint[])"
_LET_GO = f"SELECT pg_advisory_unlock({OUTBOX_LOCK})"
_BACKLOG = text("SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox")


TOMBSTONE = b""
"""The outbox's value of a tombstone, published as a record with no value at all. Every event and every
contract message is JSON, never empty, so an empty value can mean nothing else."""


def encode_key(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


@dataclass(frozen=True)
class OutboxMessage:
    """One message waiting to be written to the outbox."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]


async def put_many(conn: AsyncConnection, messages: Sequence[OutboxMessage], taking_in: TakenIn | None = None) -> None:
    """Write messages to the outbox inside the caller's transaction, in one statement, in order; and, with
    `taking_in`, record a poll's messages in the inbox in that statement too. Raises `Redelivered` if one of
    them was recorded before (the caller's transaction must then roll back)."""
    messages = tracing.with_trace_context(messages)
    driver = await driver_connection(conn)
    columns = (
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        [json.dumps(dict(m.headers)) for m in messages],
    )
    await writing_taking_in(driver, _INSERT, columns, taking_in)


async def put(
    conn: AsyncConnection,
    topic: Topic,
    key: str | bytes | None,
    value: bytes,
    headers: Mapping[str, str],
) -> None:
    """Write one message to the outbox inside the caller's transaction."""
    await put_many(conn, [OutboxMessage(topic.name, encode_key(key), value, headers)])


def event_message(topic: Topic, key: str, envelope: Envelope[Any]) -> OutboxMessage:
    """An enveloped event; its id and type travel as headers too, so consumers can route cheaply."""
    return OutboxMessage(topic.name, encode_key(key), envelope.model_dump_json().encode(), envelope_headers(envelope))


async def put_event(conn: AsyncConnection, topic: Topic, key: str, envelope: Envelope[Any]) -> None:
    await put_many(conn, [event_message(topic, key, envelope)])


def envelope_headers(envelope: Envelope[Any]) -> dict[str, str]:
    headers = {
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "schema_version": str(envelope.schema_version),
        "correlation_id": envelope.correlation_id,
        "producer": envelope.producer,
        "content-type": "application/json",
    }
    if envelope.causation_id:
        headers["causation_id"] = envelope.causation_id
    return headers


RELAY_MAX_BATCH_BYTES = 512 * 1024
"""How large a record batch for one partition may grow: a relay batch of a few hundred events to a
handful of partitions then goes as a few batches, not one per 16 KiB."""


async def _let_go(conn: AsyncConnection, driver: asyncpg.Connection) -> None:
    """A batch Kafka did not take stays in the outbox, and the lock it was held with goes: kept, no relay
    of any replica would take anything again. A connection that cannot let go is closed, which lets go."""
    try:
        await driver.execute(_LET_GO)
    except Exception:
        log.warning("could not let go of the outbox lock; closing the relay's connection instead")
        await conn.invalidate()


class OutboxRelay:
    """Publishes what the outbox holds. Runs beside the consumers in every service process.

    It has its own Kafka producer and hands it whole record batches, one per partition, built with
    aiokafka's `BatchBuilder`: per event that is one append in C, where `send()` (and FastStream's
    `publish` over it) cost a future, a partitioner call and a lookup each. Events of one partition
    are appended in the order they were written; batches of one partition leave in order.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        bootstrap_servers: str,
        batch_size: int,
        poll_interval_s: float,
        client_id: str = "efrikort-relay",
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._engine = engine
        self._bootstrap_servers = bootstrap_servers
        self._client_options = dict(client_options or {})
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Called after a transaction that wrote to the outbox commits: publish now, not at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Finish the batch in flight (so nothing is published twice needlessly), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task
        await self._stop_producer()

    async def _run(self) -> None:
        failures = 0
        connection = KeptConnection(self._engine)
        while not self._stopping:
            try:
                conn = await connection.get()
                # Cleared before the batch is read, not after: a commit that wakes the relay while
                # it publishes is then published next, not left until the poll interval runs out.
                self._wake.clear()
                published = await self.publish_batch(conn)
                failures = 0
            except Exception as error:
                failures += 1
                log.exception("outbox relay failed to publish; the events stay and are retried")
                if isinstance(error, KafkaError):
                    # An idempotent producer whose batch failed (a broker restart) may keep sequence numbers
                    # the broker no longer accepts, and then fails every batch after with
                    # OutOfOrderSequenceNumber (seen in `efrikort chaos`): a new producer starts afresh.
                    await self._stop_producer()
                await connection.discard()
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if published >= self._batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)
        try:
            await self.publish_batch(await connection.get())
        except Exception:
            log.exception("could not flush the outbox at shutdown; the events stay for the next start")
        await connection.discard()

    async def publish_batch(self, conn: AsyncConnection | None = None) -> int:
        """Publish the oldest waiting messages (up to a batch), and delete them once Kafka has them."""
        if conn is None:
            async with self._engine.connect() as own:
                return await self.publish_batch(own)
        driver = await driver_outside_transaction(conn)
        # Rows only if this relay now holds the outbox lock, in the order they were written.
        rows = await driver.fetch(HOLD_BATCH, self._batch_size)
        if not rows:
            return 0
        try:
            await self._send(rows)
            await driver.execute(RELEASE_BATCH, [row["id"] for row in rows])
        except BaseException:
            await _let_go(conn, driver)
            raise
        published = Counter((row["topic"], row["event_type"] or "") for row in rows)
        for (topic, event_type), count in published.items():
            MESSAGES_PUBLISHED.labels(topic, event_type).inc(count)
        return len(rows)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        """Hand every row to Kafka, and return once Kafka has acknowledged them all."""
        producer = await self._started_producer()
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], BatchBuilder] = {}
        sent: list[asyncio.Future[Any]] = []
        for row in rows:
            topic, key = row["topic"], row["key"]
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            partition = default_partitioner(key, partitions[topic], partitions[topic])
            record = {
                "timestamp": None,
                "key": key,
                "value": row["value"] if row["value"] != TOMBSTONE else None,
                "headers": [(name, value.encode()) for name, value in json.loads(row["headers"]).items()],
            }
            batch = open_batches.get((topic, partition))
            if batch is not None and batch.append(**record) is not None:
                continue
            if batch is not None:  # full: it goes now, and the partition's next batch begins
                sent.append(await producer.send_batch(batch, topic, partition=partition))
            batch = open_batches[(topic, partition)] = producer.create_batch()
            batch.append(**record)  # the first record of a batch always fits
        for (topic, partition), batch in open_batches.items():
            sent.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*sent)

    async def _started_producer(self) -> AIOKafkaProducer:
        """The producer, started on first use: Kafka may be out when the service starts, and then
        the events wait in the outbox (a failed start is tried again with the next batch)."""
        if self._producer is None:
            # Made here, not in __init__: aiokafka binds a producer to the running event loop.
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap_servers,
                client_id=self._client_id,
                acks="all",
                enable_idempotence=True,
                # No linger: the relay hands over whole batches it built itself (`_send`), and an open batch
                # would otherwise be held back `linger_ms` in case more records came.
                linger_ms=0,
                max_batch_size=RELAY_MAX_BATCH_BYTES,
                max_request_size=2 * RELAY_MAX_BATCH_BYTES,
                **self._client_options,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _stop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def measure_backlog(self) -> None:
        async with self._engine.connect() as conn:
            count, age = (await conn.execute(_BACKLOG)).one()
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(float(age))
