"""The raw Kafka floor: what Kafka alone takes to carry a message the way the pipeline does.

A submission reaches its outcome over two hops, each a consume and a produce (registration reads the
submission and writes `FeeRegistered`; protection reads that and writes the outcome). The floor does
the same with plain aiokafka and nothing else: the bench sends on the first floor topic (acks=all), an
echo reads it and writes it on the second (acks=all, idempotent, as the services' producers), a second
echo on to the third, and each message is timed as the service figures are, from its record timestamp
to its answer's. Measured in the same run as the figure it stands beside, on the same loaded machine,
it says how much of a figure is Kafka and the machine's mood and how much is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.topics import SYSTEM_FEE_SUBMISSIONS
from efrikort.bench import BenchResult, Outgoing, send_and_collect
from efrikort.kafka_principals import admin_client_options

FLOOR_TOPICS = ("efrikort.bench-floor.in.v1", "efrikort.bench-floor.middle.v1", "efrikort.bench-floor.out.v1")
"""The bench's own topics (the admin user writes them; no service reads them)."""
HOPS = len(FLOOR_TOPICS) - 1
FLOOR_PARTITIONS = SYSTEM_FEE_SUBMISSIONS.partitions


async def ensure_floor_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="efrikort-bench-floor", **admin_client_options())
    await admin.start()
    try:
        missing = [name for name in FLOOR_TOPICS if name not in set(await admin.list_topics())]
        if missing:
            response = await admin.create_topics([NewTopic(name, FLOOR_PARTITIONS, 1) for name in missing])
            for name, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {name}: Kafka error code {code}")
    finally:
        await admin.close()


async def echo(bootstrap: str, source: str, target: str, ready: asyncio.Event) -> None:
    """Read `source` from its end and write each record on to `target`, waiting for Kafka's acknowledgement
    per poll as the outbox relay does per batch."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **admin_client_options())
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0, **admin_client_options()
    )
    await consumer.start()
    await producer.start()
    try:
        partitions = [TopicPartition(source, p) for p in range(FLOOR_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        ready.set()
        while True:
            polled = await consumer.getmany(timeout_ms=500)
            sent = [
                await producer.send(target, record.value, key=record.key, partition=record.partition)
                for records in polled.values()
                for record in records
            ]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
        await consumer.stop()


def floor_messages(count: int) -> list[Outgoing]:
    """`count` messages of a submission's size, keyed and tracked by a fresh id each."""
    outgoing = []
    for _ in range(count):
        key = str(uuid.uuid4()).encode()
        outgoing.append(Outgoing(FLOOR_TOPICS[0], key, key + b" " * 290, tracking_id=key))
    return outgoing


async def run_floor(bootstrap: str, count: int, rate: float | None) -> BenchResult:
    """`count` messages through the two plain hops, at `rate` per second or flat out."""
    await ensure_floor_topics(bootstrap)
    readiness = [asyncio.Event() for _ in range(HOPS)]
    echoes = [
        asyncio.create_task(echo(bootstrap, FLOOR_TOPICS[hop], FLOOR_TOPICS[hop + 1], readiness[hop]))
        for hop in range(HOPS)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readiness)), timeout=60)
        return await send_and_collect(bootstrap, FLOOR_TOPICS[-1], floor_messages(count), _key_of, rate)
    finally:
        await _cancelled(echoes)


def _key_of(record: ConsumerRecord[bytes, bytes]) -> bytes | None:
    return record.key


async def _cancelled(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
