"""A steady stream of the bench system's submissions while something is killed, and what came of it.

The sender produces as an integrated system should (acks=all, idempotent): a submission Kafka could not
take is sent again under the same `submission_id`, which the contract makes harmless. Each outcome is
read afterwards with its record timestamp, so the pause a failure caused is measured from Kafka's own
clock: the longest gap between consecutive outcomes after the failure, and the longest a submission sent
after it waited for its outcome.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from efrikort.bench import STAGES, SUBMISSIONS, bench_submission, synthetic_patients
from runtime.partitioner import default_partitioner

OUTCOMES = STAGES["outcome"]


@dataclass
class Sent:
    """What the sender sent: each submission's id and when Kafka took it (ms), and how many it sent again."""

    at_ms: dict[str, int] = field(default_factory=dict)
    resent: int = 0


@dataclass(frozen=True)
class Answered:
    """Every outcome record read for the submissions sent, by submission id: (timestamp ms, outcome)."""

    records: dict[str, list[tuple[int, dict[str, Any]]]]

    def first_at(self) -> dict[str, int]:
        return {sid: min(ts for ts, _ in records) for sid, records in self.records.items()}

    def repeated(self) -> int:
        """Outcome records beyond the first of a submission (at-least-once; each the same outcome)."""
        return sum(len(records) - 1 for records in self.records.values())


async def send_steadily(
    bootstrap: str, options: dict[str, Any], rate: float, seconds: float, seed: int, started: asyncio.Event
) -> Sent:
    """`rate` submissions a second for `seconds`; `started` is set once the first is taken."""
    people = synthetic_patients(200, seed)
    rng = random.Random(seed)
    first_visit = date.today() - timedelta(days=300)
    documents = [bench_submission(rng, people, first_visit) for _ in range(int(rate * seconds))]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        partitioner=default_partitioner,
        **options,
    )
    await producer.start()
    sent = Sent()
    try:
        pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        began = time.perf_counter()
        for index, document in enumerate(documents):
            pending.append((document, await _send(producer, document)))
            if index == 0:
                started.set()
            await asyncio.sleep(max(0.0, began + (index + 1) / rate - time.perf_counter()))
        for document, future in pending:
            await _settle(producer, document, future, sent)
    finally:
        await producer.stop()
    return sent


async def _send(producer: AIOKafkaProducer, document: dict[str, Any]) -> asyncio.Future[Any]:
    key = str(document["submission_id"]).encode()
    return await producer.send(SUBMISSIONS, json.dumps(document).encode(), key=key)


async def _settle(
    producer: AIOKafkaProducer, document: dict[str, Any], future: asyncio.Future[Any], sent: Sent
) -> None:
    """The submission's send acknowledged, or sent again until it is."""
    for _ in range(10):
        try:
            metadata = await future
        except KafkaError:
            sent.resent += 1
            future = await _send(producer, document)
            continue
        sent.at_ms[str(document["submission_id"])] = metadata.timestamp
        return
    raise AssertionError(f"submission {document['submission_id']} was never taken by Kafka")


async def end_offsets(bootstrap: str, options: dict[str, Any]) -> dict[TopicPartition, int]:
    """Where the outcomes topic ends now: the answers to what is sent next come after."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)
    await consumer.start()
    await producer.start()
    try:
        partitions = [TopicPartition(OUTCOMES, p) for p in sorted(await producer.partitions_for(OUTCOMES))]
        assert partitions, f"{OUTCOMES} has no partitions"
        return await consumer.end_offsets(partitions)
    finally:
        await producer.stop()
        await consumer.stop()


async def read_outcomes(
    bootstrap: str, options: dict[str, Any], since: dict[TopicPartition, int], ids: set[str], timeout: float
) -> Answered:
    """Every outcome record after `since` for the submissions `ids`, until each has one (or the time is up),
    then two more seconds for repeats."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **options)
    await consumer.start()
    records: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    try:
        consumer.assign(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while time.monotonic() < (settle_until or deadline):
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for partition_records in batch.values():
                for record in partition_records:
                    sid = (record.key or b"").decode()
                    if sid in ids:
                        records.setdefault(sid, []).append((record.timestamp, json.loads(record.value or b"{}")))
            if settle_until is None and ids <= records.keys():
                settle_until = time.monotonic() + 2
    finally:
        await consumer.stop()
    return Answered(records)


def longest_gap_ms(timestamps: list[int], after_ms: int) -> int:
    """The longest time between consecutive outcomes from `after_ms` on (the last one before it included)."""
    ordered = sorted(timestamps)
    window = [ts for ts in ordered if ts < after_ms][-1:] + [ts for ts in ordered if ts >= after_ms]
    return max((b - a for a, b in itertools.pairwise(window)), default=0)


@dataclass(frozen=True)
class Pause:
    """What a failure at `failed_at_ms` cost the stream of outcomes."""

    longest_gap_ms: int
    longest_gap_before_ms: int
    slowest_after_ms: int
    """The longest a submission sent after the failure waited for its outcome."""
    slowest_before_ms: int

    def report(self) -> str:
        return (
            f"longest gap between outcomes after the kill {self.longest_gap_ms} ms "
            f"(before it {self.longest_gap_before_ms} ms); slowest outcome of a submission sent after it "
            f"{self.slowest_after_ms} ms (before it {self.slowest_before_ms} ms)"
        )


def pause_of(sent: Sent, answered: Answered, failed_at_ms: int) -> Pause:
    first = answered.first_at()
    before = [ts for ts in first.values() if ts < failed_at_ms]
    waited = {sid: first[sid] - at for sid, at in sent.at_ms.items() if sid in first}
    return Pause(
        longest_gap_ms(list(first.values()), failed_at_ms),
        longest_gap_ms(before, 0) if before else 0,
        max((w for sid, w in waited.items() if sent.at_ms[sid] >= failed_at_ms), default=0),
        max((w for sid, w in waited.items() if sent.at_ms[sid] < failed_at_ms), default=0),
    )


async def assert_each_once(database_url: str, sent: Sent, answered: Answered) -> None:
    """Nothing lost: every submission has its outcome, accepted; nothing twice: each outcome record of a
    submission is the same outcome, and each submission is one fee in registration and one in protection."""
    ids = set(sent.at_ms)
    missing = ids - answered.records.keys()
    assert not missing, f"{len(missing)} of {len(ids)} submissions got no outcome, e.g. {sorted(missing)[:3]}"
    for sid, records in answered.records.items():
        outcomes = {json.dumps(outcome, sort_keys=True) for _, outcome in records}
        assert len(outcomes) == 1, f"submission {sid} was answered differently: {outcomes}"
        assert records[0][1]["status"] == "accepted", records[0][1]
    fee_ids = Counter(records[0][1]["fee_id"] for records in answered.records.values())
    assert fee_ids.most_common(1)[0][1] == 1, "one fee answered for two submissions"
    conn = await asyncpg.connect(database_url)
    try:
        for table in ("registration.fee_versions", "protection.fees"):
            counts = await conn.fetch(
                f"SELECT submission_id, count(*) AS n FROM {table} WHERE submission_id = ANY($1) GROUP BY 1",
                sorted(ids),
            )
            assert len(counts) == len(ids), f"{table} holds {len(counts)} of the {len(ids)} submissions"
            twice = [row["submission_id"] for row in counts if row["n"] != 1]
            assert not twice, f"{table} holds {len(twice)} submissions more than once, e.g. {twice[:3]}"
    finally:
        await conn.close()
