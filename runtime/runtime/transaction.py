"""A unit of work: one database transaction, and the events it causes written to the outbox in it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope, Event
from contracts.topics import Topic
from runtime import outbox
from runtime.database import KeptConnection
from runtime.inbox import TakenIn
from runtime.logs import correlation_id as current_correlation_id
from runtime.outbox import OutboxMessage, OutboxRelay


@dataclass
class _Held:
    """What a transaction holds until it is flushed, and what it runs once it has committed. Shared by
    the views of one transaction (`Transaction.caused_by`)."""

    messages: list[OutboxMessage] = field(default_factory=list)
    actions: list[Callable[[], None]] = field(default_factory=list)
    """After-commit actions not yet flushed: a rolled-back savepoint discards them with its messages."""
    flushed_actions: list[Callable[[], None]] = field(default_factory=list)
    taking_in: TakenIn | None = None
    """A poll's messages, recorded in the inbox by the flush's statement."""


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
        held: _Held | None = None,
        *,
        first_hearing: bool = False,
    ) -> None:
        self.conn = conn
        self.producer = producer
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.first_hearing = first_hearing
        """A consumer's first hearing of a poll, all its messages at once: whatever fails in it, the runtime
        rolls the poll back and hears each message again alone. A failure a handler would answer (in a
        savepoint of its own) it may let rise here instead, and answer when the message is heard alone."""
        self._held = held or _Held()
        self.emitted = 0
        self.written = 0

    def caused_by(self, correlation_id: str, causation_id: str | None) -> Transaction:
        """The same transaction, emitting on behalf of one message of a batch (its correlation and cause)."""
        return Transaction(
            self.conn, self.producer, correlation_id, causation_id, self._held, first_hearing=self.first_hearing
        )

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this transaction has committed, never if it rolls back: to tell this process
        of what others may then read (a reader woken before the commit would not find it yet)."""
        self._held.actions.append(action)

    def take_in(self, consumer: str, message_ids: Sequence[str]) -> None:
        """Record these messages as handled by `consumer` with the flush's write of the outbox (one statement
        for both), or with a handler's own write if it asks for them (`taking_in_now`). That write raises
        `Redelivered` if one was recorded before: the transaction must not commit."""
        self._held.taking_in = TakenIn(consumer, list(message_ids))

    def taking_in_now(self) -> TakenIn | None:
        """The poll's messages not yet taken in, for a handler to record with its own write
        (`runtime.inbox.writing_taking_in`) instead of the flush's: a poll that emits nothing then makes no
        statement for the inbox alone. Asked for, they are the caller's to record: the flush no longer does."""
        taking_in, self._held.taking_in = self._held.taking_in, None
        return taking_in

    def committed(self) -> None:
        """The transaction committed: run its after-commit actions, in the order they were asked for."""
        for action in self._held.flushed_actions:
            action()
        self._held.flushed_actions.clear()

    async def emit(self, topic: Topic, key: str, payload: Event) -> Envelope[Any]:
        """Publish an internal event once (and only if) this transaction commits."""
        envelope = Envelope.wrap(
            payload, producer=self.producer, correlation_id=self.correlation_id, causation_id=self.causation_id
        )
        self._held.messages.append(outbox.event_message(topic, key, envelope))
        self.emitted += 1
        return envelope

    async def send(self, topic: Topic, key: str, value: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Publish a message without envelope (the integration contract's own format) on commit."""
        self._held.messages.append(
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
        self._held.messages.append(
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
        return len(self._held.messages)

    async def flush(self) -> int:
        """Write what was emitted to the outbox, in emit order. Returns how many."""
        written = len(self._held.messages)
        taking_in, self._held.taking_in = self._held.taking_in, None
        if written or taking_in is not None:
            await outbox.put_many(self.conn, self._held.messages, taking_in)
            self._held.messages.clear()
            self.written += written
        self._held.flushed_actions.extend(self._held.actions)
        self._held.actions.clear()
        return written

    def discard(self) -> None:
        """Forget what was emitted, and the after-commit actions asked for since the last flush (its
        savepoint was rolled back)."""
        self._held.messages.clear()
        self._held.actions.clear()


class UnitOfWork:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay, producer: str) -> None:
        self.engine = engine
        self.relay = relay
        self.producer = producer

    @asynccontextmanager
    async def begin(
        self,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        *,
        on: KeptConnection | None = None,
        first_hearing: bool = False,
    ) -> AsyncIterator[Transaction]:
        """One transaction, on a connection of the pool or `on` a kept one (a consumer's). Its events carry
        `correlation_id`, by default the one of the request or message being handled
        (`runtime.logs.correlation_id`), else a new one. `first_hearing`: see `Transaction.first_hearing`."""
        correlation_id = correlation_id or current_correlation_id.get() or str(uuid.uuid4())
        async with self._connection(on) as conn, conn.begin():
            tx = Transaction(conn, self.producer, correlation_id, causation_id, first_hearing=first_hearing)
            yield tx
            await tx.flush()
        if tx.written:
            self.relay.wake()
        tx.committed()

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
