"""The load benchmarks measure what they claim: every message sent is answered and timed; and they
leave the example fee as they found it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from efrikort import credentials
from efrikort.bench import admit_bench_actors, run_bench, run_http_latency
from efrikort.bench_floor import run_floor
from efrikort.bench_protection import run_protection_bench
from efrikort.example import SystemLogin, example_submission, exchange
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.actors import access_settings
from tests.kafka_clients import eventually, logs_in
from tests.submissions import EXAMPLE_SYSTEM

pytestmark = pytest.mark.e2e


async def test_the_raw_kafka_floor_times_every_message_over_its_two_plain_hops(infra: InfraEndpoints) -> None:
    result = await run_floor(infra.kafka_bootstrap_servers, 30, rate=None)

    assert len(result.latencies_ms) == 30
    assert result.per_second > 0
    assert 0 <= result.percentile(50) <= result.percentile(99)


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
    await admit_bench_actors(infra.kafka_bootstrap_servers, access_settings(infra))

    result = await run_bench(
        infra.kafka_bootstrap_servers, submissions=30, patients=10, rate=50, seed=7, stage="registration"
    )

    assert len(result.latencies_ms) == 30
    assert result.seconds >= 30 / 50 * 0.9  # paced at the rate asked for


async def test_the_submission_bench_splits_each_outcome_s_time_into_its_hops(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    await admit_bench_actors(infra.kafka_bootstrap_servers, access_settings(infra))

    result = await run_bench(infra.kafka_bootstrap_servers, submissions=30, patients=10, rate=50, seed=13)

    assert [hop.name for hop in result.hops] == [
        "to registration's event",
        "its commit and relay",
        "protection, to its relay's send",
    ]
    for hop in result.hops:
        assert len(hop.latencies_ms) == 30, f"not every submission was timed on {hop.name}"
    # Each stretch begins where the one before ended: none can be negative (the envelope's time is
    # rounded to the millisecond), and a time misread (seconds for milliseconds, another record's) shows.
    assert all(latency >= -1 for hop in result.hops for latency in hop.latencies_ms)
    assert all(hop.percentile(99) < 60_000 for hop in result.hops)


async def test_the_http_bench_times_every_post_answered_with_the_amount_due(
    infra: InfraEndpoints, services: dict[str, ServiceProcess]
) -> None:
    await admit_bench_actors(infra.kafka_bootstrap_servers, access_settings(infra))

    result = await run_http_latency(services["registration"].url, requests=20, rate=20, patients=10, seed=7)

    assert len(result.latencies_ms) == 20  # every one answered 200 with its outcome, and timed
    assert 0 < result.percentile(50) <= result.percentile(99)


async def test_after_the_bench_the_example_fee_is_still_accepted(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    # What `efrikort bench` does, at a size a test affords.
    await admit_bench_actors(infra.kafka_bootstrap_servers, access_settings(infra))
    await run_bench(infra.kafka_bootstrap_servers, submissions=20, patients=10, rate=None, seed=11)

    # What `efrikort send-example-fee` does, with the sample system's login as `efrikort up` issues it.
    files = await credentials.issue(infra, EXAMPLE_SYSTEM, tmp_path, keep_password=True)
    login = SystemLogin.from_kcat_file(files.kcat)
    assert await eventually(lambda: logs_in(login.bootstrap_servers, login.options), timeout=20, interval=0.5)
    outcome = await exchange(login, example_submission())

    assert outcome is not None, "no outcome for the example fee"
    assert json.loads(outcome)["status"] == "accepted", outcome
