"""Polling Kafka without waiting when there is nothing to wait for.

FastStream's batch subscriber asks aiokafka for records with `getmany(timeout_ms=batch_timeout_ms)`,
which returns as soon as any record is there, and, when the timeout passes with none, sleeps
`batch_timeout_ms` *again* before it asks next. A message that arrives during that sleep waits up to
its whole length (200 ms by default) before anyone looks: an idle consumer answered a lone message
later than a busy one, and latency rose as the offered rate fell. Here the poll simply asks again:
`getmany` already waits for data without spinning, so the second wait bought nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka.subscriber.usecase import BatchSubscriber

POLL_TIMEOUT_MS = 500
"""How long one poll waits for a record before it asks again. It bounds nothing a message waits for
(the poll returns the moment one arrives); it only sets how often an idle consumer's loop comes round."""


GATHER_MIN_BYTES = 1024 * 1024
"""What a gathering consumer's fetch waits for unless its time is up first: more than its records come to
in `consumer_gather_ms` at any rate the system takes, so in practice the time decides, and a backlog is
still read at full speed."""


@dataclass(frozen=True)
class Fetch:
    """How the broker answers a consumer's fetch: once `min_bytes` are there or `max_wait_ms` has passed.
    The defaults are Kafka's: as soon as one record is there."""

    max_wait_ms: int = 500
    min_bytes: int = 1


def fetch_options(*, gathers: bool, gather_ms: int) -> Fetch:
    """The broker's defaults for a consumer on a caller's path; for a gathering one, wait up to `gather_ms`."""
    if not gathers or gather_ms == 0:
        return Fetch()
    return Fetch(max_wait_ms=gather_ms, min_bytes=GATHER_MIN_BYTES)


class PromptBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber, polling again at once after an empty poll instead of sleeping."""

    __slots__ = ()

    async def get_msg(self, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord[Any, Any], ...]:
        records = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
        return tuple(chain(*records.values()))


def prompt(subscriber: Any) -> PromptBatchSubscriber:
    """The subscriber `broker.subscriber(..., batch=True)` made, polling promptly. FastStream offers no
    option for it, so the instance takes the subclass (the same slots, only `get_msg` differs); done before
    the broker starts. Anything but FastStream's own batch subscriber is refused rather than changed."""
    if type(subscriber) is not BatchSubscriber:
        raise TypeError(f"expected FastStream's BatchSubscriber, got {type(subscriber).__name__}")
    subscriber.__class__ = PromptBatchSubscriber
    return cast(PromptBatchSubscriber, subscriber)
