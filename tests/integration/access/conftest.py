"""The access service in this process, under a name of its own (its own schema and consumer groups),
against the session's Kafka and PostgreSQL, with the development identity header switched on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from access.app import build
from access.settings import AccessSettings
from efrikort.infra.stack import InfraEndpoints
from runtime.service import Runtime, create_app
from tests.kafka_clients import eventually

SAMPLE_DIRECTORY = Path(__file__).parents[3] / "deploy" / "local" / "directory" / "sample-directory.json"
CENTRAL_SUPPORT = {"X-HSA-ID": "SE2321000016-E004"}
"""David Dahl, EFK;Superanvändare at the region's central support unit U900 in the sample directory."""
CENTRAL_UNIT = "SE2321000016-U900"


@dataclass
class RunningAccess:
    name: str
    runtime: Runtime
    http: httpx.AsyncClient
    db: asyncpg.Connection

    async def rows(self, sql: str, *args: object) -> list[asyncpg.Record]:
        return await self.db.fetch(sql.replace("{schema}", self.name), *args)


@pytest.fixture(scope="module")
async def access(infra: InfraEndpoints) -> AsyncIterator[RunningAccess]:
    name = f"access_it_{uuid.uuid4().hex[:10]}"
    settings = AccessSettings(
        service_name=name,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=infra.database_url,
        service_database_url=None,
        trust_identity_header=True,
        outbox_poll_interval_s=0.05,
        consumer_retry_backoff_s=0.01,
        grant_sweep_interval_s=3600,
    )
    runtime = Runtime(settings)
    app = create_app(build(runtime), runtime)
    db = await asyncpg.connect(infra.database_url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://access") as http,
    ):

        async def ready() -> bool:
            return (await http.get("/ready")).status_code == 200

        assert await eventually(ready, timeout=60, interval=0.2), (await http.get("/ready")).json()
        try:
            yield RunningAccess(name, runtime, http, db)
        finally:
            await db.close()
