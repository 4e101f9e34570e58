"""The load benchmark: fee submissions in through Kafka as integrated systems send them, outcomes out.

Measures end to end, from a submission's publication to its outcome on `efrikort.fee-outcomes.v1`,
over a running stack: throughput, and latency percentiles per submission.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from efrikort.example import OUTCOMES, SUBMISSIONS
from registration.identity import with_check_digit


def synthetic_patients(count: int, seed: int) -> list[str]:
    """Valid identity numbers that belong to nobody in particular, reproducible from the seed."""
    rng = random.Random(seed)
    numbers: set[str] = set()
    while len(numbers) < count:
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
        numbers.add(with_check_digit(birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"))
    return sorted(numbers)


@dataclass(frozen=True)
class BenchResult:
    submissions: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.submissions / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def report(self) -> str:
        return (
            f"{self.submissions} submissions in {self.seconds:.2f}s: {self.per_second:.0f}/s; "
            f"latency p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms, "
            f"mean {statistics.fmean(self.latencies_ms):.0f} ms"
        )


async def run_bench(bootstrap: str, submissions: int, patients: int, rate: float | None, seed: int) -> BenchResult:
    """Publish `submissions` fees spread over `patients` patients (at `rate` per second, or as fast
    as possible) and wait for every outcome."""
    people = synthetic_patients(patients, seed)
    rng = random.Random(seed)
    first_visit = date.today() - timedelta(days=300)
    consumer = AIOKafkaConsumer(OUTCOMES, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest")
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []
    try:
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)  # fix the starting point before anything is sent

        async def collect() -> None:
            while len(latencies) < submissions:
                batch = await consumer.getmany(timeout_ms=200)
                now = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        started = sent_at.pop(record.key, None) if record.key else None
                        if started is not None:
                            latencies.append((now - started) * 1000)

        collector = asyncio.create_task(collect())
        began = time.perf_counter()
        pending = []
        for index in range(submissions):
            submission_id = str(uuid.uuid4())
            document = {
                "submission_id": submission_id, "system_id": "SE2321000016-BENCH",
                "patient_id": rng.choice(people),
                "visit_date": (first_visit + timedelta(days=rng.randrange(300))).isoformat(),
                "care_unit": "SE2321000016-U001", "registered_by": "SE2321000016-E001",
                "fee_type": "doctor_visit", "fee_amount": rng.choice((100, 200, 300, 400)), "source": "visit",
            }
            key = submission_id.encode()
            sent_at[key] = time.perf_counter()
            pending.append(await producer.send(SUBMISSIONS, json.dumps(document).encode(), key=key))
            if rate:
                delay = began + (index + 1) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
        await asyncio.gather(*pending)
        await asyncio.wait_for(collector, timeout=max(120.0, submissions / 50))
        return BenchResult(submissions, time.perf_counter() - began, latencies)
    finally:
        await producer.stop()
        await consumer.stop()
