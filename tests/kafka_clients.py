"""Plain aiokafka clients, as an outside system would use them (not the project's own publisher)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from efrikort.kafka_principals import admin_client_options


@asynccontextmanager
async def plain_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **admin_client_options())
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


class TopicReader:
    """Reads a topic from the end as it was when the reader started, keeping what it saw."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.seen: list[ConsumerRecord[bytes, bytes]] = []
        self._positions: set[tuple[int, int]] = set()
        # No consumer group: nothing to be evicted from while a test waits, nothing to rebalance.
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **admin_client_options(),
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def _poll(self) -> None:
        batch = await self._consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                # Kafka may hand the same record over again after a reconnect; count it once.
                if (record.partition, record.offset) not in self._positions:
                    self._positions.add((record.partition, record.offset))
                    self.seen.append(record)

    async def wait_for(
        self, match: Callable[[ConsumerRecord[bytes, bytes]], bool], timeout: float = 15, count: int = 1
    ) -> list[ConsumerRecord[bytes, bytes]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.seen if match(r)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} expected messages on {self.topic} after {timeout}s")
            await self._poll()

    async def drain(self, seconds: float) -> None:
        """Keep reading for a while, to see whether anything more arrives."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._poll()

    def with_key(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in self.seen if r.key == key.encode()]


@asynccontextmanager
async def reading(bootstrap: str, topic: str) -> AsyncIterator[TopicReader]:
    reader = TopicReader(bootstrap, topic)
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


async def eventually(check: Callable[[], Any], timeout: float = 15, interval: float = 0.2) -> Any:
    """Wait until an async check returns something truthy, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


async def caught_up(bootstrap: str, group: str, topic: str, timeout: float = 30) -> None:
    """Wait until consumer group `group` has committed everything on `topic` that is there now.

    Topics are shared by every test of a session; a consumer that starts later reads what earlier
    tests published before it reads what this test publishes.
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **admin_client_options())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **admin_client_options())
    await consumer.start()
    await admin.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer.topics()
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        ends = await consumer.end_offsets(partitions)

        async def committed_all() -> bool:
            offsets = await admin.list_consumer_group_offsets(group)
            return all(end == 0 or (tp in offsets and offsets[tp].offset >= end) for tp, end in ends.items())

        assert await eventually(committed_all, timeout=timeout), f"{group} did not catch up on {topic}"
    finally:
        await admin.close()
        await consumer.stop()


async def logs_in(bootstrap: str, options: dict[str, Any]) -> bool:
    """Whether the broker takes this login yet: a re-issued SCRAM credential may take it a moment."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **options)
    try:
        await admin.start()
        return True
    except KafkaError:
        return False
    finally:
        await admin.close()
