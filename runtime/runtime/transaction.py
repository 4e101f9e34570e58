"""A unit of work: one database transaction, and the events it causes written to the outbox in it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope, Event
from contracts.topics import Topic
from runtime import outbox
from runtime.database import KeptConnection
from runtime.logs import correlation_id as current_correlation_id
from runtime.outbox import OutboxMessage, OutboxRelay


class Transaction:
    """What a handler or a route gets: the connection, and a way to emit events atomically with it.

    Emitted messages are held until `flush()`, which writes them to the outbox in one statement;
    the unit of work and the consumers flush before they commit (or release a savepoint).
    """

    def __init__(
        self,
        conn: AsyncConnection,
        producer: str,
        correlation_id: str,
        causation_id: str | None,
        pending: list[OutboxMessage] | None = None,
    ) -> None:
        self.conn = conn
        self.producer = producer
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self._pending: list[OutboxMessage] = [] if pending is None else pending
        self.emitted = 0
        self.written = 0

    def caused_by(self, correlation_id: str, causation_id: str | None) -> Transaction:
        """The same transaction, emitting on behalf of one message of a batch (its correlation and cause)."""
        return Transaction(self.conn, self.producer, correlation_id, causation_id, self._pending)

    async def emit(self, topic: Topic, key: str, payload: Event) -> Envelope[Any]:
        """Publish an internal event once (and only if) this transaction commits."""
        envelope = Envelope.wrap(
            payload, producer=self.producer, correlation_id=self.correlation_id, causation_id=self.causation_id
        )
        self._pending.append(outbox.event_message(topic, key, envelope))
        self.emitted += 1
        return envelope

    async def send(self, topic: Topic, key: str, value: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Publish a message without envelope (the integration contract's own format) on commit."""
        self._pending.append(
            OutboxMessage(
                topic.name,
                outbox.encode_key(key),
                value,
                {
                    "correlation_id": self.correlation_id,
                    "producer": self.producer,
                    "content-type": "application/json",
                    **(headers or {}),
                },
            )
        )
        self.emitted += 1

    async def remove(self, topic: Topic, key: str) -> None:
        """A tombstone (a record without value) for `key` on a compacted topic, once this transaction
        commits: compaction then drops every earlier record of the key, so what it held is gone from Kafka too."""
        self._pending.append(
            OutboxMessage(
                topic.name,
                outbox.encode_key(key),
                outbox.TOMBSTONE,
                {"correlation_id": self.correlation_id, "producer": self.producer},
            )
        )
        self.emitted += 1

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write what was emitted to the outbox, in emit order. Returns how many."""
        written = len(self._pending)
        if written:
            await outbox.put_many(self.conn, self._pending)
            self._pending.clear()
            self.written += written
        return written

    def discard(self) -> None:
        """Forget what was emitted (its savepoint was rolled back)."""
        self._pending.clear()


class UnitOfWork:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay, producer: str) -> None:
        self.engine = engine
        self.relay = relay
        self.producer = producer

    @asynccontextmanager
    async def begin(
        self, correlation_id: str | None = None, causation_id: str | None = None, *, on: KeptConnection | None = None
    ) -> AsyncIterator[Transaction]:
        """One transaction, on a connection of the pool or `on` a kept one (a consumer's). Its events carry
        `correlation_id`, by default the one of the request or message being handled
        (`runtime.logs.correlation_id`), else a new one."""
        correlation_id = correlation_id or current_correlation_id.get() or str(uuid.uuid4())
        async with self._connection(on) as conn, conn.begin():
            tx = Transaction(conn, self.producer, correlation_id, causation_id)
            yield tx
            await tx.flush()
        if tx.written:
            self.relay.wake()

    @asynccontextmanager
    async def _connection(self, kept: KeptConnection | None) -> AsyncIterator[AsyncConnection]:
        if kept is None:
            async with self.engine.connect() as conn:
                yield conn
            return
        try:
            yield await kept.get()
        except BaseException:
            await kept.discard()
            raise
