"""A unit of work: one database transaction, and the events it causes written to the outbox in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope, Event
from contracts.topics import Topic
from runtime import outbox
from runtime.outbox import OutboxRelay


class Transaction:
    """What a handler or a route gets: the connection, and a way to emit events atomically with it."""

    def __init__(self, conn: AsyncConnection, producer: str, correlation_id: str, causation_id: str | None) -> None:
        self.conn = conn
        self.producer = producer
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.emitted = 0

    async def emit(self, topic: Topic, key: str, payload: Event) -> Envelope[Any]:
        """Publish an internal event once (and only if) this transaction commits."""
        envelope = Envelope.wrap(
            payload, producer=self.producer, correlation_id=self.correlation_id, causation_id=self.causation_id
        )
        await outbox.put_event(self.conn, topic, key, envelope)
        self.emitted += 1
        return envelope

    async def send(self, topic: Topic, key: str, value: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Publish a message without envelope (the integration contract's own format) on commit."""
        await outbox.put(
            self.conn, topic, key, value,
            {"correlation_id": self.correlation_id, "producer": self.producer, "content-type": "application/json",
             **(headers or {})},
        )
        self.emitted += 1


class UnitOfWork:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay, producer: str) -> None:
        self.engine = engine
        self.relay = relay
        self.producer = producer

    @asynccontextmanager
    async def begin(self, correlation_id: str, causation_id: str | None = None) -> AsyncIterator[Transaction]:
        async with self.engine.begin() as conn:
            tx = Transaction(conn, self.producer, correlation_id, causation_id)
            yield tx
        if tx.emitted:
            self.relay.wake()
