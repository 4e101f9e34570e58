"""The end-to-end half of `efrikort bench-protection`'s new-fee figures (issue 17), against the session's
protection: a patient with a short and one with a long history, then new fees one at a time, each timed
to its outcome. Prints the medians (run with `-s`); asserts no timing. Sizes and samples from
EFRIKORT_NEW_FEE_BENCH_HISTORY and EFRIKORT_NEW_FEE_BENCH_SAMPLES (small by default, to keep the suite quick)."""

from __future__ import annotations

import os
import random

import pytest

from efrikort.bench_protection import run_new_fee_bench
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess

pytestmark = pytest.mark.integration


async def test_new_fees_are_timed_to_their_outcome_for_a_short_and_a_long_history(
    protection: ServiceProcess, infra: InfraEndpoints
) -> None:
    sizes = (5, int(os.environ.get("EFRIKORT_NEW_FEE_BENCH_HISTORY", "40")))
    samples = int(os.environ.get("EFRIKORT_NEW_FEE_BENCH_SAMPLES", "4"))
    medians = await run_new_fee_bench(infra.kafka_bootstrap_servers, sizes, samples, seed=random.randrange(10**6))
    print(
        f"one new fee to its outcome, {sizes[0]} / {sizes[1]} fees: median {medians[sizes[0]]:.1f} / "
        f"{medians[sizes[1]]:.1f} ms (ratio {medians[sizes[1]] / medians[sizes[0]]:.2f})"
    )
    assert sorted(medians) == sorted(sizes)
    assert all(median > 0 for median in medians.values())
