"""A service that decides with a read model of another service's topic (the access grants) says it is
ready only once it has read what that topic held when it started: else, for a moment after each
start, it would refuse callers it simply had not heard of yet."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.access_events import grant_key
from contracts.envelope import Envelope
from contracts.topics import ACCESS_GRANTS
from efrikort.infra.stack import InfraEndpoints
from efrikort.kafka_principals import admin_client_options
from efrikort.sample_actors import unit
from runtime.access_grants import grants_consumer
from runtime.outbox import event_message
from runtime.service import Runtime, Service, create_app
from runtime.topics import ensure_topics
from tests.integration.runtime.harness import settings_for, unique_service_name, write_migrations

pytestmark = pytest.mark.integration

GRANTS_BEFORE_START = 3000


async def publish_many(bootstrap: str, count: int) -> list[str]:
    """Grants for `count` units no other test knows, published as the access service does; their keys."""
    tag = uuid.uuid4().hex[:6].upper()
    grants = [unit(f"SE2321000016-R{tag}{n:05d}") for n in range(count)]
    # Run alone, nothing else has made the topic yet.
    await ensure_topics(bootstrap, [ACCESS_GRANTS], client_options=admin_client_options())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **admin_client_options())
    await producer.start()
    try:
        sent = []
        for grant in grants:
            message = event_message(
                ACCESS_GRANTS, grant_key(grant), Envelope.wrap(grant, producer="access", correlation_id=tag)
            )
            sent.append(
                await producer.send(
                    message.topic,
                    message.value,
                    key=message.key,
                    headers=[(k, v.encode()) for k, v in message.headers.items()],
                )
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return [grant_key(g) for g in grants]


async def test_a_service_is_not_ready_until_it_has_read_the_grants_published_before_it_started(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    keys = await publish_many(infra.kafka_bootstrap_servers, GRANTS_BEFORE_START)
    name = unique_service_name()
    migrations = write_migrations(tmp_path / "migrations", with_grants=True)
    settings = settings_for(name, infra)
    runtime = Runtime(settings)
    app = create_app(
        Service(name=name, migrations=migrations, consumers=[grants_consumer(name)], obeys_patient_exit=False), runtime
    )
    db = await asyncpg.connect(infra.database_url)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as http,
        ):
            deadline = time.monotonic() + 60
            while (ready := await http.get("/ready")).status_code != 200:
                assert time.monotonic() < deadline, ready.json()
                await asyncio.sleep(0.02)
            held = await db.fetchval(f"SELECT count(*) FROM {name}.access_grants WHERE key = ANY($1)", keys)

        assert ready.json()["checks"]["read_models"] is True
        assert held == GRANTS_BEFORE_START
    finally:
        await db.execute(f"DROP OWNED BY {settings.database_role} CASCADE")
        await db.execute(f"DROP ROLE {settings.database_role}")
        await db.close()
