"""Every service as three replicas (members of its consumer groups, each on its own HTTP port, as
`efrikort up --replicas 3` runs them); one replica of each SIGKILLed while submissions stream in: nothing
lost, nothing doubled, and the outcomes resume once the groups have given the dead members' partitions to
the living. The figures it prints (`-s`) are in docs/operations.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from efrikort.bench import admit_bench_actors
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from tests.actors import access_settings
from tests.e2e.steady_load import assert_each_once, end_offsets, pause_of, read_outcomes, send_steadily
from tests.infra_fixtures import free_ports

# A cluster and four services (or twelve) starting on a busy 2-core machine: more than the default 300 s.
# Minutes of a stack of its own: the heavy tier (`./efrikort test --heavy`; README, Tests).
pytestmark = [pytest.mark.e2e, pytest.mark.heavy, pytest.mark.timeout(900)]

REPLICAS = 3
RATE = 30.0
SECONDS = 24.0
KILL_AFTER_S = 6.0
PAUSE_BOUND_S = 60.0
"""Generous: a killed member's partitions wait for its session to time out (10 s) and a rebalance."""


@pytest.fixture
async def more_replicas(
    services: dict[str, ServiceProcess], service_env: dict[str, str], infra: InfraEndpoints
) -> AsyncIterator[list[ServiceProcess]]:
    """Two more replicas of each service beside the session's one, on ports of their own."""
    names = list(services)
    ports = iter(free_ports(len(names) * (REPLICAS - 1)))
    extra = [
        ServiceProcess(
            name,
            next(ports),
            {**service_env, **infra.service_env(name)},
            services[name].log_path.with_name(f"{name}-{replica}.log"),
        )
        for replica in range(2, REPLICAS + 1)
        for name in names
    ]
    try:
        for process in extra:
            process.start()
        for process in extra:
            await asyncio.to_thread(process.wait_ready, 180)
        yield extra
    finally:
        for process in extra:
            await asyncio.to_thread(process.stop)


async def test_one_replica_of_each_service_killed_mid_stream_loses_nothing_and_doubles_nothing(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], more_replicas: list[ServiceProcess]
) -> None:
    await admit_bench_actors(infra.kafka_bootstrap_servers, access_settings(infra))
    options = infra.admin_options()
    bootstrap = infra.kafka_bootstrap_servers
    since = await end_offsets(bootstrap, options)
    started = asyncio.Event()
    load = asyncio.create_task(send_steadily(bootstrap, options, RATE, SECONDS, seed=37, started=started))
    await started.wait()
    await asyncio.sleep(KILL_AFTER_S)

    victims = {process.name: process for process in more_replicas}  # one of each service
    killed_at_ms = int(time.time() * 1000)
    for victim in victims.values():
        victim.kill()

    sent = await load
    answered = await read_outcomes(bootstrap, options, since, set(sent.at_ms), timeout=120)

    await assert_each_once(infra.database_url, sent, answered)
    pause = pause_of(sent, answered, killed_at_ms)
    print(
        f"\n{REPLICAS} replicas of each service, one of each SIGKILLed: {len(sent.at_ms)} submissions at "
        f"{RATE:.0f}/s, {answered.repeated()} outcome records repeated; {pause.report()}"
    )
    assert pause.longest_gap_ms < PAUSE_BOUND_S * 1000
    assert pause.slowest_after_ms < PAUSE_BOUND_S * 1000
    for process in [*services.values(), *(p for p in more_replicas if p not in victims.values())]:
        assert process.process is not None and process.process.poll() is None, f"{process.name} died too"
