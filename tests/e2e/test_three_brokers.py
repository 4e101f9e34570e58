"""Kafka of three brokers (`efrikort up --brokers 3`): every topic on three of them, two in sync before a
write counts; one broker SIGKILLed while submissions stream in loses nothing and doubles nothing, and the
outcomes resume. The module runs its own cluster and PostgreSQL, and the four services against them.

The figures it prints (`-s`) are in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from efrikort.bench import BENCH_SYSTEM, bench_actors
from efrikort.cli import service_replicas
from efrikort.infra.kafka import KafkaServer
from efrikort.infra.paths import var_dir
from efrikort.infra.stack import InfraEndpoints, LocalInfra
from efrikort.services import ServiceProcess
from efrikort.through_access import grant_keys, import_actors, until_held, until_opened
from tests.actors import access_settings
from tests.e2e.steady_load import assert_each_once, end_offsets, pause_of, read_outcomes, send_steadily
from tests.infra_fixtures import free_ports, local_infra
from tests.kafka_clients import eventually

# A cluster and four services (or twelve) starting on a busy 2-core machine: more than the default 300 s.
# Minutes of a stack of its own: the heavy tier (`./efrikort test --heavy`; README, Tests).
pytestmark = [pytest.mark.e2e, pytest.mark.heavy, pytest.mark.timeout(900)]

RATE = 30.0
"""Submissions a second: enough that a pause shows, little enough for the 2-core machine."""
SECONDS = 20.0
KILL_AFTER_S = 6.0
PAUSE_BOUND_S = 60.0
"""Generous: a dead broker is noticed after its session (9 s), then its partitions get new leaders."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[LocalInfra, InfraEndpoints]]:
    directory = var_dir() / "test" / f"k3-{uuid.uuid4().hex[:8]}"
    try:
        with local_infra(directory / "data", brokers=3) as made:
            yield made
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_env(cluster: tuple[LocalInfra, InfraEndpoints]) -> Iterator[None]:
    """The project's own clients (the access import among them) reach this cluster as its admin user."""
    _, endpoints = cluster
    wanted = endpoints.kafka_env(endpoints.kafka_admin)
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
async def stack(cluster: tuple[LocalInfra, InfraEndpoints], admin_env: None) -> AsyncIterator[InfraEndpoints]:
    """The four services on the cluster, and the bench's actors admitted through access."""
    _, endpoints = cluster
    processes = service_replicas(endpoints, replicas=1)
    logs = var_dir() / "test" / "logs" / f"three-brokers-{time.strftime('%H%M%S')}"
    processes = [
        ServiceProcess(p.name, port, {**p.env, "EFRIKORT_OUTBOX_POLL_INTERVAL_S": "0.1"}, logs / f"{p.name}.log")
        for p, port in zip(processes, free_ports(len(processes)), strict=True)
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await asyncio.to_thread(process.wait_ready, 180)
        settings = access_settings(endpoints)
        actors = bench_actors(settings.region)
        await import_actors(actors, settings)
        await until_opened(endpoints.kafka_bootstrap_servers, endpoints.admin_options(), [BENCH_SYSTEM])
        await until_held(
            endpoints.database_url,
            grant_keys(actors.export()),
            access_schema=settings.database_schema,
            readers=("registration",),
        )
        yield endpoints
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)


async def test_every_topic_is_on_three_brokers_and_a_write_needs_two(stack: InfraEndpoints) -> None:
    async with stack.admin_client() as admin:
        names = [name for name in await admin.list_topics() if name.startswith("efrikort.") or name.startswith("__")]
        described = await admin.describe_topics(names)
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names if name.startswith("efrikort.")]
        )
    assert any(name.startswith("efrikort.systems.") for name in names), "access opened no system's topics"
    assert "__consumer_offsets" in names
    for topic in described:
        for partition in topic["partitions"]:
            assert len(partition["replicas"]) == 3, (topic["topic"], partition)
    for response in configs:
        for resource in response.resources:
            entries = {entry[0]: entry[1] for entry in resource[4]}
            assert entries["min.insync.replicas"] == "2", (resource[3], entries["min.insync.replicas"])


async def _leader_counts(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for topic in await admin.describe_topics(topics):
        for partition in topic["partitions"]:
            counts[partition["leader"]] = counts.get(partition["leader"], 0) + 1
    return counts


async def _all_in_sync(admin: AIOKafkaAdminClient) -> bool:
    """Every partition of the project's topics has its three replicas in sync."""
    names = [name for name in await admin.list_topics() if name.startswith("efrikort.")]
    return all(
        len(partition["isr"]) == 3 for topic in await admin.describe_topics(names) for partition in topic["partitions"]
    )


async def test_a_broker_killed_mid_stream_loses_nothing_and_doubles_nothing(
    cluster: tuple[LocalInfra, InfraEndpoints], stack: InfraEndpoints
) -> None:
    local, endpoints = cluster
    options = endpoints.admin_options()
    bootstrap = endpoints.kafka_bootstrap_servers
    since = await end_offsets(bootstrap, options)
    started = asyncio.Event()
    load = asyncio.create_task(send_steadily(bootstrap, options, RATE, SECONDS, seed=31, started=started))
    await started.wait()
    await asyncio.sleep(KILL_AFTER_S)

    # The active controller, which leads its share of the partitions too: the most a single loss can take.
    async with endpoints.admin_client() as admin:
        controller = (await admin.describe_cluster())["controller_id"]
        leaders = await _leader_counts(admin, ["efrikort.fees.v1", "efrikort.internal-fee-outcomes.v1"])
    victim: KafkaServer = local.kafka.nodes[controller - 1]
    killed_at_ms = int(time.time() * 1000)
    await asyncio.to_thread(victim.kill)
    print(f"\nkilled broker {controller} (active controller, leading {leaders.get(controller, 0)} partitions)")

    sent = await load
    answered = await read_outcomes(bootstrap, options, since, set(sent.at_ms), timeout=120)
    await asyncio.to_thread(victim.start)
    async with endpoints.admin_client() as admin:
        rejoined = time.monotonic()
        in_sync = await eventually(lambda: _all_in_sync(admin), timeout=120, interval=1)
        in_sync_after_s = time.monotonic() - rejoined

    await assert_each_once(endpoints.database_url, sent, answered)
    pause = pause_of(sent, answered, killed_at_ms)
    print(
        f"three brokers, one SIGKILLed: {len(sent.at_ms)} submissions at {RATE:.0f}/s, {sent.resent} sent again, "
        f"{answered.repeated()} outcome records repeated; {pause.report()}; "
        f"every partition in sync {in_sync_after_s:.1f} s after its restart"
    )
    assert pause.longest_gap_ms < PAUSE_BOUND_S * 1000
    assert pause.slowest_after_ms < PAUSE_BOUND_S * 1000
    assert in_sync, "partitions not back to three in-sync replicas two minutes after the broker's restart"
