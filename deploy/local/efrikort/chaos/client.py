"""The chaos run's integrated system: it sends the submissions on its own topic as its own Kafka
principal, reads its outcome topic, and corrects or deletes fees over HTTP once they are registered,
trying again through every kill and restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from efrikort.chaos.workload import CHAOS_EMPLOYEE, CHAOS_SYSTEM, ChangeKind, Planned, Workload
from efrikort.example import SystemLogin
from runtime.partitioner import default_partitioner

KAFKA_PATIENCE_MS = 180_000
"""How long the client's producer keeps a record while the broker is away (a restart) before giving up
on it and sending it again: long enough that it seldom has to."""
CHANGE_PATIENCE_S = 600.0
"""How long a correction or deletion is tried through kills and outages before it is given up."""


@dataclass
class Observed:
    """What the system has seen so far, for the progress line and for deciding when the load is done."""

    sent: int = 0
    sends: Counter[str] = field(default_factory=Counter)
    """Times each submission was written: more than once only when the producer gave up on a try."""
    sent_at_ms: dict[str, int] = field(default_factory=dict)
    """When each submission was first handed to the producer (epoch milliseconds, Kafka's clock)."""
    answered: dict[str, bytes] = field(default_factory=dict)
    """The first outcome of each submission."""
    changes_queued: int = 0
    changes: dict[str, str] = field(default_factory=dict)
    """Per submission whose fee was changed: how it went (`done`, `done by an earlier try`, or what refused it)."""
    last_outcome_at: float = field(default_factory=time.monotonic)

    @property
    def resent(self) -> int:
        return sum(count - 1 for count in self.sends.values() if count > 1)


def producer_of(login: SystemLogin) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=login.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=KAFKA_PATIENCE_MS,
        partitioner=default_partitioner,
        **login.options,
    )


async def send_all(
    producer: AIOKafkaProducer,
    topic: str,
    workload: Workload,
    rate: float,
    observed: Observed,
    hold: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Every submission, `rate` per second (`hold(index)` awaited before each, when given: the pace resumes
    after it); one the producer gave up on (the broker away too long) is sent again, as a system would: the
    same submission id, so registration knows it."""
    due = time.perf_counter()
    pending: list[tuple[Planned, asyncio.Future[Any]]] = []
    for index, planned in enumerate(workload.submissions):
        if hold is not None:
            await hold(index)
        observed.sent_at_ms.setdefault(planned.submission_id, int(time.time() * 1000))
        pending.append((planned, await _queue(producer, topic, planned)))
        observed.sent += 1
        observed.sends[planned.submission_id] += 1
        due = max(due, time.perf_counter() - 1) + 1 / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
    while pending:
        retry = []
        for planned, future in pending:
            try:
                await future
            except KafkaError:
                retry.append(planned)
        pending = []
        for planned in retry:
            observed.sends[planned.submission_id] += 1
            pending.append((planned, await _queue(producer, topic, planned)))


async def _queue(producer: AIOKafkaProducer, topic: str, planned: Planned) -> asyncio.Future[Any]:
    """The record handed to the producer (a future of its acknowledgement); tried until the producer takes it."""
    value = json.dumps(planned.document).encode()
    while True:
        try:
            return await producer.send(topic, value, key=planned.submission_id.encode())
        except KafkaError:
            await asyncio.sleep(1)


async def read_outcomes(
    login: SystemLogin, topic: str, workload: Workload, observed: Observed, changes: asyncio.Queue[Any]
) -> None:
    """The system's outcome topic from its beginning, until cancelled; a fee to be changed is queued for
    the change workers once its acceptance is read."""
    planned = {p.submission_id: p for p in workload.submissions}
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=login.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        **login.options,
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batch.values():
                for record in records:
                    _take(record.key, record.value, planned, observed, changes)
    finally:
        await consumer.stop()


def _take(
    key: bytes | None, value: bytes | None, planned: dict[str, Planned], observed: Observed, changes: asyncio.Queue[Any]
) -> None:
    submission_id = (key or b"").decode()
    if submission_id in observed.answered or submission_id not in planned or value is None:
        return
    observed.answered[submission_id] = value
    observed.last_outcome_at = time.monotonic()
    outcome = json.loads(value)
    if planned[submission_id].change is not None and outcome.get("status") == "accepted":
        observed.changes_queued += 1
        changes.put_nowait((planned[submission_id], outcome["fee_id"]))


async def change_fees(registration_url: str, changes: asyncio.Queue[Any], observed: Observed) -> None:
    """Correct or delete each queued fee as the system's employee, until a None is queued."""
    headers = {"X-HSA-ID": CHAOS_EMPLOYEE, "X-System-ID": CHAOS_SYSTEM}
    async with httpx.AsyncClient(base_url=registration_url, headers=headers, timeout=15) as client:
        while (item := await changes.get()) is not None:
            planned, fee_id = item
            observed.changes[planned.submission_id] = await change_fee(client, planned, fee_id)


async def change_fee(client: httpx.AsyncClient, planned: Planned, fee_id: str) -> str:
    """The change, made to the fee's first version (`If-Match: "1"`), so that trying again after a lost
    answer cannot change it twice: the try after one that was committed is refused 412 (or 409, deleted)."""
    assert planned.change is not None
    headers = {"X-Care-Unit": planned.document["care_unit"], "If-Match": '"1"'}
    deadline = time.monotonic() + CHANGE_PATIENCE_S
    tried = False
    while time.monotonic() < deadline:
        try:
            if planned.change.kind is ChangeKind.DELETION:
                response = await client.delete(f"/v1/fees/{fee_id}", params={"reason": "dubblett"}, headers=headers)
            else:
                response = await client.patch(f"/v1/fees/{fee_id}", json=planned.change.body, headers=headers)
        except httpx.HTTPError:
            tried = True  # it may have been committed before the answer was lost
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 200:
            return "done"
        if response.status_code in (409, 412) and tried:
            return "done by an earlier try"
        if response.status_code < 500:
            return f"refused {response.status_code} {response.json().get('code', '')}"
        tried = True
        await asyncio.sleep(0.5)
    return "given up"
