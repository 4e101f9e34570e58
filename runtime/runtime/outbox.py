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

from faststream.kafka import KafkaBroker
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope
from contracts.topics import Topic
from runtime.metrics import MESSAGES_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

log = logging.getLogger(__name__)

_INSERT = text("INSERT INTO outbox (topic, key, value, headers) VALUES (:topic, :key, :value, CAST(:headers AS jsonb))")
_BATCH = text("SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT :limit")
_DELETE = text("DELETE FROM outbox WHERE id = ANY(:ids)").bindparams(bindparam("ids", type_=ARRAY(BIGINT)))
_BACKLOG = text("SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox")
# Only one relay per service publishes at a time, so events of one key leave in the order written
# even when the service runs as several replicas.
_LEADER = text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox'))")


def encode_key(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


@dataclass(frozen=True)
class OutboxMessage:
    """One message waiting to be written to the outbox."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Mapping[str, str]


async def put_many(conn: AsyncConnection, messages: Sequence[OutboxMessage]) -> None:
    """Write messages to the outbox inside the caller's transaction, in one statement, in order."""
    await conn.execute(_INSERT, [
        {"topic": m.topic, "key": m.key, "value": m.value, "headers": json.dumps(dict(m.headers))} for m in messages
    ])


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


class OutboxRelay:
    """Publishes what the outbox holds. Runs beside the consumers in every service process."""

    def __init__(self, engine: AsyncEngine, broker: KafkaBroker, batch_size: int, poll_interval_s: float) -> None:
        self._engine = engine
        self._broker = broker
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

    async def _run(self) -> None:
        failures = 0
        conn: AsyncConnection | None = None
        while not self._stopping:
            try:
                # One connection kept for the relay's life: checking one out of the pool per batch
                # (and pinging it) cost as much as the batch's own statements.
                if conn is None or conn.invalidated or conn.closed:
                    conn = await self._engine.connect()
                published = await self.publish_batch(conn)
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed to publish; the events stay and are retried")
                await _closed(conn)
                conn = None
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if published >= self._batch_size:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)
        try:
            if conn is None or conn.invalidated or conn.closed:
                conn = await self._engine.connect()
            await self.publish_batch(conn)
        except Exception:
            log.exception("could not flush the outbox at shutdown; the events stay for the next start")
        await _closed(conn)

    async def publish_batch(self, conn: AsyncConnection | None = None) -> int:
        """Publish the oldest waiting messages (up to a batch), and delete them once Kafka has them."""
        if conn is None:
            async with self._engine.connect() as own:
                return await self.publish_batch(own)
        async with conn.begin():
            if not (await conn.execute(_LEADER)).scalar():
                return 0
            rows = (await conn.execute(_BATCH, {"limit": self._batch_size})).all()
            if not rows:
                return 0
            pending = [
                await self._broker.publish(
                    row.value, row.topic, key=row.key, headers=row.headers,
                    correlation_id=row.headers.get("correlation_id"), no_confirm=True,
                )
                for row in rows
            ]
            await asyncio.gather(*pending)
            await conn.execute(_DELETE, {"ids": [row.id for row in rows]})
        published = Counter((row.topic, row.headers.get("event_type", "")) for row in rows)
        for (topic, event_type), count in published.items():
            MESSAGES_PUBLISHED.labels(topic, event_type).inc(count)
        return len(rows)

    async def measure_backlog(self) -> None:
        async with self._engine.connect() as conn:
            count, age = (await conn.execute(_BACKLOG)).one()
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(float(age))


async def _closed(conn: AsyncConnection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.close()
