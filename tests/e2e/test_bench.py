"""The load benchmarks measure what they claim: every message sent is answered and timed."""

from __future__ import annotations

import pytest

from efrikort.bench import grant_bench_actors, run_bench, run_http_latency
from efrikort.bench_protection import run_protection_bench
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess

pytestmark = pytest.mark.e2e


async def test_the_protection_bench_times_every_fee_event_until_its_outcome(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    result = await run_protection_bench(infra.kafka_bootstrap_servers, events=30, patients=10, rate=None, seed=7)

    assert len(result.latencies_ms) == 30
    assert result.per_second > 0
    assert 0 < result.percentile(50) <= result.percentile(99)


async def test_the_submission_bench_times_every_submission_until_registration_passed_it_on(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    await grant_bench_actors(infra.kafka_bootstrap_servers)

    result = await run_bench(
        infra.kafka_bootstrap_servers, submissions=30, patients=10, rate=50, seed=7, stage="registration"
    )

    assert len(result.latencies_ms) == 30
    assert result.seconds >= 30 / 50 * 0.9  # paced at the rate asked for


async def test_the_http_bench_times_every_post_answered_with_the_amount_due(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    await grant_bench_actors(infra.kafka_bootstrap_servers)

    result = await run_http_latency(services["registration"].url, requests=20, rate=20, patients=10, seed=7)

    assert len(result.latencies_ms) == 20  # every one answered 200 with its outcome, and timed
    assert 0 < result.percentile(50) <= result.percentile(99)
