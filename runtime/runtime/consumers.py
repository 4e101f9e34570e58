"""Consuming with at-least-once delivery, idempotent effects, bounded retries and dead letters.

For each poll: open a transaction, run the service's handler, record the messages in the inbox with
the outbox's write (a redelivery found there rolls the poll back, and it is heard again with the inbox
asked first, where a redelivery stops), commit, and only then let the Kafka offset be committed. A
message the handler rejects as invalid goes to `<topic>.dlq` at once; one that keeps failing
goes there after `consumer_max_attempts` tries, and one more if a message after it went through
(truncated if it is too large to go whole). Either
way the consumer carries on with the next. An outage is not the message's fault: it is waited out
(`Outage`, `runtime.backoff`), and nothing is dead-lettered for it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from contracts.envelope import Envelope, Event, envelope_for
from contracts.topics import SystemTopic, Topic, dead_letter_name
from runtime import database
from runtime.database import KeptConnection
from runtime.inbox import Redelivered, first_deliveries, first_delivery
from runtime.logs import correlation_id
from runtime.metrics import (
    CONSUMER_RETRIES,
    DEAD_LETTERS,
    DEAD_LETTERS_TRUNCATED,
    DEAD_LETTERS_UNWRITABLE,
    DUPLICATES,
    HANDLING_SECONDS,
    MESSAGES_CONSUMED,
)
from runtime.outages import is_deterministic, is_network_failure, is_outage
from runtime.settings import ServiceSettings
from runtime.transaction import Transaction, UnitOfWork

log = logging.getLogger(__name__)

EventT = TypeVar("EventT", bound=Event)


class InvalidMessage(Exception):
    """A message no retry can fix. Its text must never quote an identity number."""


class _FaultMayHaveEnded(Exception):
    """A message failed every try, then a later one of its poll went through: the fault may have been
    everyone's and ended between them. Raised to roll the poll back and hear it once more."""

    def __init__(self, tries: Mapping[str, int]) -> None:
        super().__init__()
        self.tries = tries
        """How often each message that failed every try was tried alone, by message id."""


class Outage(Exception):
    """PostgreSQL or Kafka is out of reach, or every message of a batch fails alike: nothing of the batch
    was committed and nothing dead-lettered; the consumer pauses and tries the batch again."""


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as a handler sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    from_outside: bool = False
    """Sent by an integrated system on its own topic: its headers are the sender's word, not ours."""

    @classmethod
    def from_record(cls, record: ConsumerRecord[Any, Any], *, from_outside: bool = False) -> Delivery:
        headers = {name: raw.decode("utf-8", "replace") for name, raw in (record.headers or ())}
        return cls(
            record.topic, record.partition, record.offset, record.key, record.value or b"", headers, from_outside
        )

    @property
    def message_id(self) -> str:
        """The event id our own producers give (so a republished event is recognised too), else the
        record's own coordinates. An outside sender's `event_id` header is ignored: trusted, it would let
        a system make the inbox drop any message by reusing an id; what an integrated system may not
        send twice is recognised by its service (registration's claim of system and submission id)."""
        return self.event_id or f"{self.topic}/{self.partition}/{self.offset}"

    @property
    def event_id(self) -> str | None:
        """The `event_id` header of one of our own producers; never an outside sender's."""
        return None if self.from_outside else self.headers.get("event_id")

    @functools.cached_property
    def correlation_id(self) -> str:
        """The sender's, or one made up once for this delivery so its logs, retries and events share it."""
        return self.headers.get("correlation_id") or str(uuid.uuid4())

    def envelope(self, payload_type: type[EventT]) -> Envelope[EventT]:
        try:
            return envelope_for(payload_type).model_validate_json(self.value)
        except ValidationError as error:
            raise InvalidMessage(describe_validation_error(error)) from None

    def event(self, *payload_types: type[Event]) -> Event:
        """The event on a topic that carries several types, chosen by its `event_type` (the header our
        producers set, else the envelope's field) and validated as that type. Handlers dispatch on it
        with `match`, the one way every consumer tells event types apart."""
        named = self.headers.get("event_type")
        if named is None:
            try:
                named = json.loads(self.value).get("event_type")
            except (ValueError, AttributeError):
                raise InvalidMessage("message: not a JSON object") from None
        for payload_type in payload_types:
            if payload_type.event_type == named:
                return self.envelope(payload_type).payload
        expected = ", ".join(t.event_type for t in payload_types)
        raise InvalidMessage(f"event_type: {str(named)[:80]!r} is not one of {expected}")


def describe_validation_error(error: ValidationError) -> str:
    """Field and reason of each problem, without the offending values (they may be personal data)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in error.errors())


Handler = Callable[[Delivery, Transaction], Awaitable[None]]
"""Handles one message. Most consumers are written so."""
BatchHandler = Callable[[Sequence[Delivery], Transaction], Awaitable[None]]
"""Handles several messages at once, to read and write with one statement for all of them. It emits
for each message through `tx.caused_by(delivery.correlation_id, delivery.message_id)`."""


@dataclass(frozen=True)
class Consumer:
    """A handler bound to the topic it reads, in the consumer group of its service.

    Give `handler` (one message at a time) or `batch_handler` (a list at a time); the runtime
    calls a batch handler with a single message when it has to find the one that fails. A
    `SystemTopic` is read by pattern: every integrated system's copy, as access creates them.
    """

    topic: Topic | SystemTopic
    group: str
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    ready_once_read: bool = False
    """The service is not ready until its group has taken in what the topic held when the service
    started: a read model it decides with (the grants), so as not to refuse callers it has not heard of yet."""
    gathers: bool = False
    """No caller waits on what this consumer does (the audit log, notices to patients): its polls let the
    broker gather records for up to `consumer_gather_ms`, so one transaction takes many at once and the
    broker is asked a few times a second instead of once a record. A consumer on a caller's path (a
    submission and its outcome) takes each record the moment it comes."""

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError("a consumer has either a handler or a batch_handler")

    @property
    def from_outside(self) -> bool:
        """It reads the integrated systems' own topics, written by no one of ours."""
        return isinstance(self.topic, SystemTopic)

    async def handle(self, deliveries: Sequence[Delivery], tx: Transaction) -> None:
        if self.batch_handler is not None:
            await self.batch_handler(deliveries, tx)
            return
        assert self.handler is not None
        for delivery in deliveries:
            token = correlation_id.set(delivery.correlation_id)
            try:
                await self.handler(delivery, tx.caused_by(delivery.correlation_id, delivery.event_id))
            finally:
                correlation_id.reset(token)


@dataclass(frozen=True)
class Exhausted:
    """A message that failed every one of its tries with an error of its own: poison, once another
    message shows that the handler and its database work."""

    delivery: Delivery
    error: Exception
    attempts: int


@dataclass(frozen=True)
class DeadLetter:
    """What goes to `<topic>.dlq`: the message as it came, and headers saying why and from where."""

    key: bytes | None
    value: bytes
    original_headers: Mapping[str, str]
    about: Mapping[str, str]
    """The `dlq_*` headers; they win over an original header of the same name."""


DEAD_LETTER_KEPT_HEADER_BYTES = 1024
"""In a truncated dead letter, an original header (name and value) or key larger than this is left out."""


def truncated_dead_letter(whole: DeadLetter, refused: BaseException, value_bytes: int) -> DeadLetter:
    """The dead letter Kafka refused (too large), cut so that it fits: the value's first `value_bytes`,
    its original size and SHA-256 and the refusal in headers, original headers over 1 KiB left out (their
    number said), a key over 1 KiB replaced by its SHA-256."""
    kept = {
        name: value
        for name, value in whole.original_headers.items()
        if len(name.encode()) + len(value.encode()) <= DEAD_LETTER_KEPT_HEADER_BYTES
    }
    about = {
        **whole.about,
        "dlq_truncated": "true",
        "dlq_original_value_bytes": str(len(whole.value)),
        "dlq_original_value_sha256": hashlib.sha256(whole.value).hexdigest(),
        "dlq_write_error": f"{type(refused).__name__}: {str(refused)[:500]}",
    }
    if dropped := len(whole.original_headers) - len(kept):
        about["dlq_original_headers_dropped"] = str(dropped)
    key = whole.key
    if key is not None and len(key) > DEAD_LETTER_KEPT_HEADER_BYTES:
        about["dlq_original_key_sha256"] = hashlib.sha256(key).hexdigest()
        key = about["dlq_original_key_sha256"].encode()
    return DeadLetter(key, whole.value[:value_bytes], kept, about)


class MessageProcessor:
    """Handles what one poll returned, with one transaction and one offset commit for the batch.

    The fast path handles the whole batch in that transaction: the handler, then one statement writing
    the outbox and recording the batch in the inbox (should a message have been recorded before, the
    batch is rolled back and handled again with the inbox asked first). If anything in it fails, it is
    rolled back and the batch is handled again one message at a time, each in its own savepoint, so that
    the message that fails is retried or dead-lettered alone while the others keep their effects.

    What is no fault of a message (`runtime.outages`: PostgreSQL or Kafka out of reach), and every
    message of a batch failing alike, raises `Outage` with nothing committed and nothing dead-lettered;
    the consumer then pauses (`runtime.backoff`) and tries the batch again.

    When a message after one that failed every try goes through, the fault may have been everyone's and
    ended between them (judged at once, the first would go to the DLQ). The batch is rolled back and handled
    one at a time again, in order, each message that failed every try with one more try: what fails that
    too while others go through is poison. (A dead letter written in the first hearing, for a message
    invalid as it stands, is written again: the DLQ is at-least-once, as it is when an outage interrupts.)
    """

    def __init__(self, broker: KafkaBroker, uow: UnitOfWork, settings: ServiceSettings) -> None:
        self._broker = broker
        self._uow = uow
        self._settings = settings
        self._failing_alike: set[tuple[str, str]] = set()
        """Consumers (group, topic) whose messages were last seen all failing alike, until one goes through:
        after the pause the poll may bring a lone message, with nothing left to compare it with."""

    async def process_batch(
        self, consumer: Consumer, deliveries: Sequence[Delivery], connection: KeptConnection | None = None
    ) -> None:
        """Handle a poll's messages, on the consumer's kept `connection` (else one of the pool)."""
        started = time.perf_counter()
        try:
            results = await self._all_at_once(consumer, deliveries, connection)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if is_outage(error):
                raise Outage() from error
            log.info(
                "batch of %d failed as a whole (%s); handling it one message at a time",
                len(deliveries),
                type(error).__name__,
            )
            results = await self._isolating_failures(consumer, deliveries, connection)
        # Committed: only now do the effects count, and only after this returns is the offset committed.
        if _any_went_through(results):
            self._failing_alike.discard(_consumer_id(consumer))
        per_message = (time.perf_counter() - started) / max(1, len(deliveries))
        handling = HANDLING_SECONDS.labels(consumer.topic.name)
        for _ in results:
            handling.observe(per_message)
        # Counted per outcome, not per message: looking up a labelled child costs more than counting.
        for result, count in Counter(result for _, result in results).items():
            MESSAGES_CONSUMED.labels(consumer.topic.name, result).inc(count)
            if result == "duplicate":
                DUPLICATES.labels(consumer.topic.name).inc(count)
        if (
            self._settings.fault_kill_after_effect
            and self._settings.fault_kill_topic in (None, consumer.topic.name)
            and any(result == "handled" for _, result in results)
        ):
            log.warning("fault injection: killing the process before the offset is committed")
            os.kill(os.getpid(), signal.SIGKILL)

    async def _all_at_once(
        self, consumer: Consumer, deliveries: Sequence[Delivery], connection: KeptConnection | None
    ) -> list[tuple[Delivery, str]]:
        """The poll in one transaction, its messages taken in by the outbox's statement at the end (one round
        trip fewer than asking the inbox first). A message taken in before is rare (a crash between a commit and
        the offset's, a relay publishing again, a rewound group): the poll is then rolled back, and heard again
        with the inbox asked first, so that such a message changes nothing."""
        try:
            async with self._uow.begin(correlation_id="batch", on=connection, first_hearing=True) as tx:
                tx.take_in(consumer.group, [d.message_id for d in deliveries])
                await consumer.handle(deliveries, tx)
            return [(delivery, "handled") for delivery in deliveries]
        except Redelivered:
            log.info("a poll held a message taken in before; it is heard again with the inbox asked first")
        return await self._inbox_first(consumer, deliveries, connection)

    async def _inbox_first(
        self, consumer: Consumer, deliveries: Sequence[Delivery], connection: KeptConnection | None
    ) -> list[tuple[Delivery, str]]:
        async with self._uow.begin(correlation_id="batch", on=connection, first_hearing=True) as tx:
            fresh_ids = await first_deliveries(tx.conn, consumer.group, [d.message_id for d in deliveries])
            fresh: list[Delivery] = []
            results: list[tuple[Delivery, str]] = []
            for delivery in deliveries:
                # A redelivered message, or the same event twice in one poll, is handled once.
                if delivery.message_id in fresh_ids:
                    fresh_ids.discard(delivery.message_id)
                    fresh.append(delivery)
                    results.append((delivery, "handled"))
                else:
                    results.append((delivery, "duplicate"))
            if fresh:
                await consumer.handle(fresh, tx)
        return results

    async def _isolating_failures(
        self, consumer: Consumer, deliveries: Sequence[Delivery], connection: KeptConnection | None
    ) -> list[tuple[Delivery, str]]:
        """The batch one message at a time. What fails outside any one message's handling (the batch's
        transaction cannot begin or commit) is no message's fault: an outage."""
        try:
            try:
                return await self._one_at_a_time(consumer, deliveries, connection)
            except _FaultMayHaveEnded as hearing:
                log.info("a message went through after one that failed every try; the batch is heard once more")
                return await self._one_at_a_time(consumer, deliveries, connection, heard=hearing.tries)
        except (Outage, asyncio.CancelledError):
            raise
        except Exception as error:
            raise Outage() from error

    async def _one_at_a_time(
        self,
        consumer: Consumer,
        deliveries: Sequence[Delivery],
        connection: KeptConnection | None,
        heard: Mapping[str, int] | None = None,
    ) -> list[tuple[Delivery, str]]:
        """Each message in its own savepoint. `heard`: the tries of the messages that failed every one
        in the first hearing; in the second each gets one more, and whatever fails then is judged."""
        results: list[tuple[Delivery, str]] = []
        suspects: list[Exhausted] = []
        async with self._uow.begin(correlation_id="batch", on=connection) as batch:
            for delivery in deliveries:
                token = correlation_id.set(delivery.correlation_id)
                try:
                    outcome = await self._process_with_retries(batch, consumer, delivery, self._tries(delivery, heard))
                finally:
                    correlation_id.reset(token)
                if heard is None and _went_through(outcome) and _undecided(suspects):
                    raise _FaultMayHaveEnded({s.delivery.message_id: s.attempts for s in suspects})
                if isinstance(outcome, Exhausted):
                    suspects.append(outcome)
                    # A statement PostgreSQL refuses is refused again: poison however many there are.
                    alike = [s for s in suspects if not is_deterministic(s.error)]
                    if len(alike) > 1 and not _any_went_through(results):
                        self._failing_alike.add(_consumer_id(consumer))
                        raise _everything_fails(alike)
                else:
                    results.append((delivery, outcome))
            if suspects and not _any_went_through(results) and await self._still_an_outage(consumer, suspects):
                raise Outage() from suspects[0].error
            for suspect in suspects:
                results.append((suspect.delivery, await self._dead_letter_poison(consumer, suspect)))
        return results

    async def _still_an_outage(self, consumer: Consumer, suspects: Sequence[Exhausted]) -> bool:
        """Failing messages with none going through: poison, unless the database is out of reach or the
        consumer's messages were failing alike before the pause and none has gone through since (a
        lone message is then one more of them). A statement PostgreSQL refuses is poison in any case."""
        if all(is_deterministic(s.error) for s in suspects):
            return False
        if _consumer_id(consumer) in self._failing_alike:
            return True
        return not await database.is_reachable(self._uow.engine)

    def _tries(self, delivery: Delivery, heard: Mapping[str, int] | None) -> range:
        """The numbered tries a message gets: all it is allowed, or in a second hearing, for one that failed
        every try in the first, one more."""
        if heard is None or delivery.message_id not in heard:
            return range(1, self._settings.consumer_max_attempts + 1)
        return range(heard[delivery.message_id] + 1, heard[delivery.message_id] + 2)

    async def _process_with_retries(
        self, batch: Transaction, consumer: Consumer, delivery: Delivery, tries: range
    ) -> str | Exhausted:
        """The message's `tries`, until one goes through."""
        extra = {"topic": delivery.topic, "partition": delivery.partition, "offset": delivery.offset}
        for attempt in tries:
            try:
                return await self._handle_once(batch, consumer, delivery)
            except InvalidMessage as error:
                log.warning("invalid message sent to the dead-letter topic: %s", error, extra=extra)
                return await self.dead_letter(consumer, delivery, error, attempt)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_outage(error) or batch.conn.invalidated or batch.conn.closed:
                    # Nothing is committed and the whole batch is tried again after a pause: nothing is lost.
                    raise Outage() from error
                if attempt == tries[-1]:
                    if is_network_failure(error):
                        raise Outage() from error  # what the handler talks to is out: no fault of the message
                    return Exhausted(delivery, error, attempt)
                log.warning("attempt %d failed (%s); retrying", attempt, type(error).__name__, extra=extra)
                CONSUMER_RETRIES.labels(consumer.topic.name, "message").inc()
                await asyncio.sleep(self._settings.consumer_retry_backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def _handle_once(self, batch: Transaction, consumer: Consumer, delivery: Delivery) -> str:
        try:
            async with database.savepoint(batch.conn, "one_message"):
                if not await first_delivery(batch.conn, consumer.group, delivery.message_id):
                    return "duplicate"
                await consumer.handle([delivery], batch)
                await batch.flush()
        except BaseException:
            batch.discard()
            raise
        return "handled"

    async def _dead_letter_poison(self, consumer: Consumer, suspect: Exhausted) -> str:
        delivery = suspect.delivery
        token = correlation_id.set(delivery.correlation_id)
        try:
            log.error(
                "message failed %d times; sent to the dead-letter topic",
                suspect.attempts,
                exc_info=suspect.error,
                extra={"topic": delivery.topic, "partition": delivery.partition, "offset": delivery.offset},
            )
            return await self.dead_letter(consumer, delivery, suspect.error, suspect.attempts)
        finally:
            correlation_id.reset(token)

    async def dead_letter(self, consumer: Consumer, delivery: Delivery, error: BaseException, attempts: int) -> str:
        """Publish to `<topic>.dlq` and wait for Kafka's acknowledgement: the offset may only move on after it.

        A dead letter Kafka refuses (too large) goes truncated (`truncated_dead_letter`); one refused even
        so is logged by its coordinates, counted and skipped ("dead_letter_failed"), so that it cannot
        hold up its partition. Kafka out of reach raises `Outage`: the message is tried again later.
        """
        whole = DeadLetter(
            delivery.key,
            delivery.value,
            delivery.headers,
            {
                "dlq_error": str(error)[:2000] or type(error).__name__,
                "dlq_error_type": type(error).__name__,
                "dlq_consumer_group": consumer.group,
                "dlq_original_topic": delivery.topic,
                "dlq_original_partition": str(delivery.partition),
                "dlq_original_offset": str(delivery.offset),
                "dlq_attempts": str(attempts),
                "dlq_failed_at": datetime.now(UTC).isoformat(),
            },
        )
        try:
            await self._publish(delivery, whole)
        except Exception as refused:
            if is_network_failure(refused):
                raise Outage() from refused
            return await self._dead_letter_truncated(delivery, whole, refused)
        DEAD_LETTERS.labels(delivery.topic).inc()
        return "dead_lettered"

    async def _dead_letter_truncated(self, delivery: Delivery, whole: DeadLetter, refused: Exception) -> str:
        extra = {"topic": delivery.topic, "partition": delivery.partition, "offset": delivery.offset}
        cut = truncated_dead_letter(whole, refused, self._settings.consumer_dead_letter_value_bytes)
        try:
            await self._publish(delivery, cut)
        except Exception as failure:
            if is_network_failure(failure):
                raise Outage() from failure
            # Coordinates and error types only, never the message: it is still on its topic to be read there.
            log.error(
                "dead letter could not be written, even truncated (%s, then %s); the message is skipped",
                type(refused).__name__,
                type(failure).__name__,
                extra=extra,
            )
            DEAD_LETTERS_UNWRITABLE.labels(delivery.topic).inc()
            return "dead_letter_failed"
        log.warning(
            "dead letter refused whole (%s); written truncated to %d of %d bytes",
            type(refused).__name__,
            len(cut.value),
            len(whole.value),
            extra=extra,
        )
        DEAD_LETTERS.labels(delivery.topic).inc()
        DEAD_LETTERS_TRUNCATED.labels(delivery.topic).inc()
        return "dead_lettered"

    async def _publish(self, delivery: Delivery, letter: DeadLetter) -> None:
        await self._broker.publish(
            letter.value,
            dead_letter_name(delivery.topic),
            key=letter.key,
            headers={**letter.original_headers, **letter.about},
            correlation_id=delivery.correlation_id,
        )


def _undecided(suspects: Sequence[Exhausted]) -> bool:
    """Some message failed every try with an error that may not fail again (a statement PostgreSQL
    refuses would)."""
    return any(not is_deterministic(s.error) for s in suspects)


def _consumer_id(consumer: Consumer) -> tuple[str, str]:
    return consumer.group, consumer.topic.name


def _went_through(outcome: str | Exhausted) -> bool:
    """The message was handled, or recognised as handled before."""
    return outcome in ("handled", "duplicate")


def _any_went_through(results: Sequence[tuple[Delivery, str]]) -> bool:
    """Some message of the batch went through: the handler and its database work, so a message that keeps
    failing among them is at fault itself."""
    return any(_went_through(result) for _, result in results)


def _everything_fails(suspects: Sequence[Exhausted]) -> Outage:
    """Two messages in a row failed every try and none went through: a fault of the handler or of what it
    depends on, not of the messages. Dead-lettering them would empty the topic into its DLQ."""
    log.warning(
        "%d messages in a row failed every try (%s) and none went through: taken for an outage, not dead-lettered",
        len(suspects),
        ", ".join(sorted({type(s.error).__name__ for s in suspects})),
    )
    outage = Outage()
    outage.__cause__ = suspects[-1].error
    return outage
