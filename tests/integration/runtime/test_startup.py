"""Starting a service gives it everything it needs: its schema and role, its migrations, its
topics as the catalogue sizes them, and health, readiness and metrics routes that tell the truth."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from sqlalchemy import text

from efrikort.infra.stack import InfraEndpoints
from runtime import database
from tests.integration.runtime.harness import TinyService, metric

pytestmark = pytest.mark.integration

DAY_MS = 24 * 3600 * 1000


async def test_start_up_provisions_a_schema_and_a_role_named_after_the_service(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    db = await service.db()
    role_name = f"efrikort_{service.name}"
    role = await db.fetchrow("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = $1", role_name)
    assert role is not None and role["rolcanlogin"] and not role["rolsuper"]
    owner = await db.fetchval("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", service.name)
    assert owner == role_name

    # The service's own connections really are that role, working in that schema.
    engine = database.create_engine(service.settings)
    try:
        async with engine.connect() as conn:
            who, where = (await conn.execute(text("SELECT current_user, current_schema()"))).one()
    finally:
        await engine.dispose()
    assert (who, where) == (role_name, service.name)


async def test_start_up_applies_the_migrations_in_the_service_schema(
    http: httpx.AsyncClient, service: TinyService
) -> None:
    db = await service.db()
    assert await db.fetchval(f"SELECT version_num FROM {service.name}.alembic_version") == "0001"
    tables = await db.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", service.name)
    assert {row["table_name"] for row in tables} == {"alembic_version", "outbox", "inbox", "effects"}
    # Nothing leaked into the public schema.
    assert await db.fetchval("SELECT to_regclass('public.alembic_version')") is None


async def test_start_up_creates_consumed_dead_letter_and_produced_topics_as_the_catalogue_says(
    http: httpx.AsyncClient, service: TinyService, infra: InfraEndpoints
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, **infra.admin_options())
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in service.topics])
        # Only the keys of `configs` matter for a describe: they pick what the broker reports.
        keys = {"cleanup.policy": None, "retention.ms": None}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t.name, keys) for t in service.topics]
        )
    finally:
        await admin.close()

    partitions = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    assert partitions == {
        service.input.name: 3,
        service.input.dead_letter.name: 1,
        service.output.name: 3,
        service.snapshots.name: 2,
    }

    # DescribeConfigs answers (error_code, error_message, type, name, [(key, value, ...), ...]) per resource.
    configs = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in responses
        for resource in response.resources
    }
    assert configs[service.input.name] == {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}
    assert configs[service.input.dead_letter.name] == {"cleanup.policy": "delete", "retention.ms": str(90 * DAY_MS)}
    assert configs[service.output.name]["cleanup.policy"] == "delete"
    assert configs[service.snapshots.name]["cleanup.policy"] == "compact"


async def test_a_started_service_is_healthy_and_ready_with_every_check_passing(http: httpx.AsyncClient) -> None:
    health = await http.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})

    ready = await http.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"postgresql": True, "kafka": True, "consumers": True, "consuming": True},
    }


async def test_metrics_count_what_the_consumer_handled(http: httpx.AsyncClient, service: TinyService) -> None:
    sent = await service.send()
    assert await service.wait_for_effects(sent.message_id) == [1]

    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for family in (
        "efrikort_messages_consumed_total",
        "efrikort_messages_published_total",
        "efrikort_message_handling_seconds",
        "efrikort_dead_letters_total",
        "efrikort_duplicate_messages_total",
        "efrikort_consumer_lag",
        "efrikort_outbox_backlog",
        "efrikort_outbox_oldest_age_seconds",
    ):
        assert f"# TYPE {family} " in response.text, family

    # Counted once the handler's transaction committed; the metric is labelled per topic.
    assert await metric(http, "efrikort_messages_consumed_total", topic=service.input.name, result="handled") == 1
    assert await metric(http, "efrikort_message_handling_seconds_count", topic=service.input.name) == 1


async def test_once_started_a_full_garbage_collection_no_longer_walks_what_start_up_made(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    # A full collection walked every object start-up made (in registration some 150 000, a pause of 50 to
    # 120 ms with every request stalled behind it) to free next to nothing.
    gc.unfreeze()  # whatever an earlier test's service froze in this process
    fresh = TinyService(infra, tmp_path)
    try:
        async with fresh.running():
            left_to_walk = len(gc.get_objects(generation=2))
            assert gc.get_freeze_count() > 10 * left_to_walk
    finally:
        await fresh.close()
