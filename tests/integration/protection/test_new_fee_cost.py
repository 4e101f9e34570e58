"""What one new fee costs protection for a patient with a short and with a long history (issue 17).

- Its handling (`on_fee_events`: lock, record, read, replay, reconcile, write, outbox) against the session's
  PostgreSQL, timed in this process, new fees one at a time.
- End to end (`efrikort bench-protection`'s figure) against the session's protection: each new fee timed
  from its event to its outcome on Kafka (the outbox relay's and the consumers' polling dominate that).

Prints the medians (run with `-s`); asserts no timing. Sizes and samples from EFRIKORT_NEW_FEE_BENCH_HISTORY
and EFRIKORT_NEW_FEE_BENCH_SAMPLES (small by default, to keep the suite quick)."""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import date, timedelta

import pytest

from efrikort.bench_protection import run_new_fee_bench
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from protection.handlers import on_fee_events
from protection.regions import RegionSettings
from runtime.consumers import Delivery
from runtime.transaction import UnitOfWork
from tests.integration.protection.conftest import as_delivery, fee_registered

pytestmark = pytest.mark.integration

SIZES = (5, int(os.environ.get("EFRIKORT_NEW_FEE_BENCH_HISTORY", "40")))
SAMPLES = int(os.environ.get("EFRIKORT_NEW_FEE_BENCH_SAMPLES", "4"))
REGION = RegionSettings.load()


async def handled(work: UnitOfWork, deliveries: list[Delivery]) -> float:
    """Milliseconds to handle the deliveries as one batch, in one transaction."""
    started = time.perf_counter()
    async with work.begin() as tx:
        await on_fee_events(deliveries, tx, region=REGION)
    return (time.perf_counter() - started) * 1000


async def test_handling_a_new_fee_is_timed_for_a_short_and_a_long_history(work: UnitOfWork) -> None:
    today, days = date.today(), 4 * 365
    medians = {}
    for size in SIZES:
        patient = f"cost-{size}-{uuid.uuid4().hex[:8]}"
        history = [
            as_delivery(fee_registered(patient, today - timedelta(days=days - i * days // size)), patient, i)
            for i in range(size)
        ]
        for first in range(0, size, 100):
            await handled(work, history[first : first + 100])
        timings = [
            await handled(work, [as_delivery(fee_registered(patient, today - timedelta(days=1)), patient, size + i)])
            for i in range(SAMPLES)
        ]
        medians[size] = statistics.median(timings)
    print(
        f"handling one new fee, {SIZES[0]} / {SIZES[1]} fees: median {medians[SIZES[0]]:.2f} / "
        f"{medians[SIZES[1]]:.2f} ms (ratio {medians[SIZES[1]] / medians[SIZES[0]]:.2f})"
    )
    assert all(median > 0 for median in medians.values())


async def test_new_fees_are_timed_to_their_outcome_for_a_short_and_a_long_history(
    protection: ServiceProcess, infra: InfraEndpoints
) -> None:
    sizes, samples = SIZES, SAMPLES
    medians = await run_new_fee_bench(infra.kafka_bootstrap_servers, sizes, samples, seed=random.randrange(10**6))
    print(
        f"one new fee to its outcome, {sizes[0]} / {sizes[1]} fees: median {medians[sizes[0]]:.1f} / "
        f"{medians[sizes[1]]:.1f} ms (ratio {medians[sizes[1]] / medians[sizes[0]]:.2f})"
    )
    assert sorted(medians) == sorted(sizes)
    assert all(median > 0 for median in medians.values())
