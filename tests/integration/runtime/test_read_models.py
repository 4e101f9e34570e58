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

from efrikort.infra.stack import InfraEndpoints
from efrikort.through_access import PartialExport, grant_keys, import_actors
from runtime.access_grants import grants_consumer
from runtime.service import Runtime, Service, create_app
from tests.actors import access_in_process
from tests.integration.runtime.harness import settings_for, unique_service_name, write_migrations
from tests.kafka_clients import eventually

pytestmark = pytest.mark.integration

GRANTS_BEFORE_START = 3000


async def publish_many(infra: InfraEndpoints, count: int) -> list[str]:
    """Grants for `count` units no other test knows, published by access (run here for the purpose) from
    a directory export; their keys, once access has sent every one of them."""
    tag = uuid.uuid4().hex[:6].upper()
    actors = PartialExport("Region Exempel")
    provider = actors.provider(f"SE2321000016-R{tag}")
    for n in range(count):
        actors.unit(f"SE2321000016-R{tag}{n:05d}", provider)
    async with access_in_process(infra) as access:
        await import_actors(actors, access.settings)
        db = await asyncpg.connect(infra.database_url)
        try:
            # Access's relay removes what it has sent from its outbox.

            async def sent() -> bool:
                return await db.fetchval(f"SELECT count(*) FROM {access.name}.outbox") == 0

            assert await eventually(sent, timeout=120, interval=0.2), "access did not send the grants"
        finally:
            await db.close()
    return grant_keys(actors.export())


async def test_a_service_is_not_ready_until_it_has_read_the_grants_published_before_it_started(
    infra: InfraEndpoints, tmp_path: Path
) -> None:
    keys = await publish_many(infra, GRANTS_BEFORE_START)
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
