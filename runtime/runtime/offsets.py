"""Committing consumed offsets now and then, not after every poll.

Every message a consumer takes is recorded in its inbox in the same transaction as its effects
(`runtime.inbox`), so a message handled again after a crash is recognised and skipped. The Kafka offset
is therefore only a bookmark: how far back a restarted member starts reading. Committing it after
every poll, as FastStream's acknowledgement does, cost each poll of each consumer a round trip to the
group coordinator and the broker a write to `__consumer_offsets`. Here a consumer commits what it has
handled at most every `interval_s`, when its partitions are taken from it, and when it stops; a crash
in between costs the redelivery of what was handled since the last commit, which the inbox drops.

Only offsets of messages whose transaction has committed are ever committed (`handled` is called after
it), never the consumer's position, which runs ahead to what the poll fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from runtime.metrics import OFFSET_COMMIT_FAILURES

log = logging.getLogger(__name__)


class OffsetCommitter(ConsumerRebalanceListener):
    """One consumer's handled offsets, committed at most every `interval_s` (and on revocation and stop)."""

    def __init__(self, topic: str, interval_s: float) -> None:
        self._topic = topic
        self._interval_s = interval_s
        self.client: AIOKafkaConsumer | None = None
        """The consumer, once it runs (FastStream makes it when the broker starts)."""
        self._handled: dict[TopicPartition, int] = {}
        """Per partition, the offset after the last message handled: where a restart reads on from."""
        self._committed: dict[TopicPartition, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._committing: asyncio.Task[None] | None = None
        self._stopping = False

    async def handled(self, client: AIOKafkaConsumer, records: Iterable[ConsumerRecord[Any, Any]]) -> None:
        """These records' effects are committed: their offsets go with the next commit (at once, when the
        consumer is stopping: a batch that was in flight then is committed before the consumer leaves)."""
        self.client = client
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if record.offset + 1 > self._handled.get(tp, -1):
                self._handled[tp] = record.offset + 1
        if self._stopping:
            await self.commit()
        elif self._timer is None and self._committing is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self._commit_soon)

    def rewind(self, client: AIOKafkaConsumer, records: Iterable[ConsumerRecord[Any, Any]]) -> None:
        """Nothing of these records counts: each partition is read again from the batch's first of it."""
        earliest: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            earliest[tp] = min(record.offset, earliest.get(tp, record.offset))
        for tp, offset in earliest.items():
            with contextlib.suppress(Exception):  # a partition taken away meanwhile is read by its new owner
                client.seek(tp, offset)

    def _commit_soon(self) -> None:
        self._timer = None
        self._committing = asyncio.create_task(self._commit_then_again())

    async def _commit_then_again(self) -> None:
        try:
            await self.commit()
        finally:
            self._committing = None
        if self._uncommitted() and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self._commit_soon)

    def _uncommitted(self) -> dict[TopicPartition, int]:
        return {tp: offset for tp, offset in self._handled.items() if self._committed.get(tp) != offset}

    async def commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit what was handled and is not yet committed (of `partitions` only, when given). A failed
        commit is tried again with the next; what it leaves uncommitted is redelivered and skipped."""
        client = self.client
        if client is None:
            return
        held = client.assignment()
        wanted = set(partitions) if partitions is not None else held
        offsets = {tp: offset for tp, offset in self._uncommitted().items() if tp in wanted and tp in held}
        if not offsets:
            return
        try:
            await client.commit(offsets)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            OFFSET_COMMIT_FAILURES.labels(self._topic).inc()
            log.info("offset commit failed (%s); tried again with the next", type(error).__name__)
            return
        self._committed.update(offsets)

    async def stop(self) -> None:
        """Commit what is handled, before the consumer leaves its group; a batch still in flight commits
        itself when it is done (`handled`)."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._committing is not None:
            with contextlib.suppress(Exception):
                await self._committing
        await self.commit()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Before another member takes them: it starts where this one got to.
        await self.commit(revoked)
        for tp in revoked:
            self._handled.pop(tp, None)
            self._committed.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # What this member knew of a partition it held before may be out of date: another read on since.
        for tp in assigned:
            self._handled.pop(tp, None)
            self._committed.pop(tp, None)
