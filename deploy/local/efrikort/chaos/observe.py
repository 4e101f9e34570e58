"""Reading what the chaos run's stack holds once it has settled: whole topics, the consumer groups'
lag, the outboxes' backlog, and the services' tables (as the server's owner, which may read every schema)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from efrikort.infra.stack import InfraEndpoints
from efrikort.services import SERVICE_PORTS


@dataclass(frozen=True)
class Record:
    key: str | None
    value: bytes | None
    timestamp_ms: int
    headers: dict[str, str]

    def document(self) -> dict[str, Any]:
        return json.loads(self.value or b"null") or {}


async def read_topic(endpoints: InfraEndpoints, topic: str) -> list[Record]:
    """Every record the topic holds now, each partition in order (as the admin user)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=endpoints.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        **endpoints.admin_options(),
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return []
        consumer.subscribe([topic])  # without a group: every partition, from its beginning
        records: list[Record] = []
        ends: dict[TopicPartition, int] = {}
        while not ends or [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                records.extend(_record(r) for r in batch)
            if not ends and consumer.assignment():
                ends = await consumer.end_offsets(list(consumer.assignment()))
        return records
    finally:
        await consumer.stop()


def _record(record: Any) -> Record:
    headers = {name: raw.decode("utf-8", "replace") for name, raw in (record.headers or ())}
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    return Record(key, record.value, record.timestamp, headers)


async def dead_letters(endpoints: InfraEndpoints) -> dict[str, int]:
    """How many records each dead-letter topic holds."""
    async with endpoints.admin_client() as admin:
        names = [name for name in await admin.list_topics() if name.endswith(".dlq")]
    counts = {}
    for name in names:
        if held := len(await read_topic(endpoints, name)):
            counts[name] = held
    return counts


async def consumer_lag(endpoints: InfraEndpoints) -> int:
    """What every consumer group has yet to commit, over all the partitions it has committed on."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=endpoints.kafka_bootstrap_servers, group_id=None, **endpoints.admin_options()
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap_servers, **endpoints.admin_options())
    await consumer.start()
    await admin.start()
    try:
        lag = 0
        for group, _ in await admin.list_consumer_groups():
            committed = await admin.list_consumer_group_offsets(group)
            if not committed:
                continue
            ends = await consumer.end_offsets(list(committed))
            lag += sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items() if meta.offset >= 0)
        return lag
    finally:
        await admin.close()
        await consumer.stop()


async def outbox_backlog(conn: asyncpg.Connection) -> int:
    return sum([await conn.fetchval(f'SELECT count(*) FROM "{name}".outbox') for name in SERVICE_PORTS])


async def unseen_versions(conn: asyncpg.Connection) -> int:
    """Fee versions registration holds that protection has not taken in yet."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM registration.fee_versions r LEFT JOIN protection.fee_versions p "
            "ON p.fee_id = r.fee_id AND p.version = r.version WHERE p.fee_id IS NULL"
        )
    )


async def settle(endpoints: InfraEndpoints, timeout: float, say: Callable[[str], None]) -> bool:
    """Wait until nothing is left to do: no outbox holds anything, no consumer group lags, and protection
    has every fee version registration holds; twice in a row, a second apart. False if not within `timeout`."""
    deadline = time.monotonic() + timeout
    calm = 0
    last = ""
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect(endpoints.database_url)
            try:
                backlog, unseen = await outbox_backlog(conn), await unseen_versions(conn)
            finally:
                await conn.close()
            lag = await consumer_lag(endpoints)
        except (OSError, asyncpg.PostgresError) as error:
            backlog = unseen = lag = -1
            last = f"not reachable yet ({type(error).__name__})"
        calm = calm + 1 if backlog == unseen == lag == 0 else 0
        if calm >= 2:
            return True
        state = f"outbox {backlog}, consumer lag {lag}, fee versions protection has not seen {unseen}"
        if state != last:
            say(f"settling: {state}")
            last = state
        await asyncio.sleep(1)
    return False
