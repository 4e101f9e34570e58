"""The tests' actors get their rights as everyone's are given: a directory export imported into access,
which computes the grants and publishes them (`efrikort.through_access`); the tests then wait until
the deciding services' read models hold them, since access publishes through its outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from access.app import NAME, build
from access.directory import DirectoryExport
from access.settings import AccessSettings
from efrikort.infra.stack import InfraEndpoints
from efrikort.through_access import PartialExport, grant_keys, import_actors, until_held
from runtime.service import Runtime, create_app
from tests.kafka_clients import eventually

DECIDING_SERVICES = ("registration", "protection", "notifications")
"""The services that keep a read model of the grants and decide with it."""


def access_settings(infra: InfraEndpoints, name: str = NAME, **overrides: Any) -> AccessSettings:
    """Access's settings against the session's servers, under `name` (its schema); connecting to Kafka as
    access's own principal where the session's broker has one, as the access service does."""
    principal: dict[str, Any] = {}
    credential = infra.kafka_credentials.get("access") if infra.kafka_credentials else None
    if credential is not None:
        principal = {"kafka_sasl_username": credential.username, "kafka_sasl_password": SecretStr(credential.password)}
    return AccessSettings(
        service_name=name,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        database_url=infra.database_url,
        service_database_url=None,
        **principal,
        **overrides,
    )


async def admit(
    infra: InfraEndpoints,
    actors: PartialExport,
    *,
    access: str = NAME,
    readers: Sequence[str] = DECIDING_SERVICES,
    timeout: float = 60,
) -> None:
    """Import the actors into the access service named `access` (its schema), and wait until each of
    `readers` holds the grants access computed for them."""
    await import_actors(actors, access_settings(infra, access))
    await held(infra, actors.export(), access=access, readers=readers, timeout=timeout)


async def held(
    infra: InfraEndpoints,
    export: DirectoryExport,
    *,
    access: str = NAME,
    readers: Sequence[str] = DECIDING_SERVICES,
    timeout: float = 60,
) -> None:
    """Wait until each of `readers` holds the grants of what `export` holds, as access computed them."""
    await until_held(infra.database_url, grant_keys(export), access_schema=access, readers=readers, timeout=timeout)


@dataclass
class AccessInProcess:
    settings: AccessSettings
    http: httpx.AsyncClient

    @property
    def name(self) -> str:
        return self.settings.service_name


@asynccontextmanager
async def access_in_process(infra: InfraEndpoints, prefix: str = "access_it") -> AsyncIterator[AccessInProcess]:
    """The access service in this process, under a fresh name (its own schema and consumer groups, which
    access's principal may use: they begin with "access"), with the development identity header on."""
    settings = access_settings(
        infra,
        f"{prefix}_{uuid.uuid4().hex[:10]}",
        trust_identity_header=True,
        outbox_poll_interval_s=0.05,
        consumer_retry_backoff_s=0.01,
        grant_sweep_interval_s=3600,
    )
    runtime = Runtime(settings)
    app = create_app(build(runtime), runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://access") as http,
    ):

        async def ready() -> bool:
            return (await http.get("/ready")).status_code == 200

        assert await eventually(ready, timeout=60, interval=0.2), (await http.get("/ready")).json()
        yield AccessInProcess(settings, http)
