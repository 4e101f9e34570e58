"""Backing off an outage without spinning and without leaving the consumer group.

When PostgreSQL or Kafka is out of reach, the batch that failed is rewound (its partitions sought back
to its first message, nothing committed: `runtime.offsets`) and every partition the consumer holds is paused for a
while: the poll loop keeps running (so the member keeps its place in the group, which it would lose
after `max.poll.interval.ms` of not polling) but gets no records, until a timer resumes the partitions
and the same messages are tried again. The pause doubles with each failed try, up to a cap, with
jitter so that the replicas of a service do not all come back in the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from runtime.metrics import CONSUMER_BACKOFF_SECONDS, CONSUMER_PAUSED_PARTITIONS, CONSUMER_RETRIES

log = logging.getLogger(__name__)


def backoff_delay(failures: int, initial_s: float, max_s: float) -> float:
    """The pause after the `failures`-th failed try in a row: `initial_s` doubled per try, capped at
    `max_s`, and drawn between half of that and all of it ("equal jitter")."""
    ceiling = min(max_s, initial_s * 2 ** min(failures - 1, 30))
    return random.uniform(ceiling / 2, ceiling)


class OutageBackoff:
    """One consumer's state of backing off: how many tries in a row failed, since when, what is paused."""

    def __init__(self, topic: str, initial_s: float, max_s: float) -> None:
        self._topic = topic
        self._initial_s = initial_s
        self._max_s = max_s
        self.failures = 0
        self._since: float | None = None
        self._paused: set[TopicPartition] = set()
        self._timer: asyncio.TimerHandle | None = None
        self.measure()

    @property
    def backing_off(self) -> bool:
        """An outage stopped the last batch and no batch has succeeded since."""
        return self._since is not None

    def pause(self, client: AIOKafkaConsumer, cause: BaseException) -> float:
        """Pause the consumer's partitions and resume them after the next delay (returned). The batch that
        failed is the caller's to rewind."""
        self.failures += 1
        if self._since is None:
            self._since = time.monotonic()
        self._paused = set(client.assignment())
        client.pause(*self._paused)
        delay = backoff_delay(self.failures, self._initial_s, self._max_s)
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(delay, self._resume, client)
        CONSUMER_RETRIES.labels(self._topic, "outage").inc()
        self.measure()
        # The error's type only: its text may quote what the failed statement held.
        log.warning(
            "outage (%s): %d partitions paused for %.1f s, then tried again (try %d); nothing dead-lettered",
            type(cause).__name__,
            len(self._paused),
            delay,
            self.failures,
            extra={"topic": self._topic},
        )
        return delay

    def _resume(self, client: AIOKafkaConsumer) -> None:
        self._timer = None
        still_held = self._paused & client.assignment()
        self._paused = set()
        with contextlib.suppress(Exception):  # the consumer may have stopped meanwhile
            client.resume(*still_held)
        if not still_held:
            # A rebalance gave the partitions to another member: nothing of this one waits any more.
            self.recovered()
        self.measure()

    def recovered(self) -> None:
        """A batch went through: the outage is over."""
        if self._since is not None:
            log.info(
                "consuming again after %.1f s of backing off (%d tries)",
                time.monotonic() - self._since,
                self.failures,
                extra={"topic": self._topic},
            )
        self.failures = 0
        self._since = None
        self.measure()

    def measure(self) -> None:
        """The backoff gauges, as they are now (called on every change, and by the service's monitor)."""
        CONSUMER_PAUSED_PARTITIONS.labels(self._topic).set(len(self._paused))
        since = self._since
        CONSUMER_BACKOFF_SECONDS.labels(self._topic).set(0.0 if since is None else time.monotonic() - since)

    def stop(self) -> None:
        self._cancel_timer()
        self._paused = set()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
