"""The four services, each in a process of its own, against the session's Kafka and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from efrikort.infra.paths import var_dir
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import SERVICE_PORTS, ServiceProcess
from tests.infra_fixtures import free_ports

NOTICE_WEBHOOK_SECRET = "e2e-webhook-secret"


@pytest.fixture(scope="session")
def service_env(infra: InfraEndpoints) -> dict[str, str]:
    return {
        **infra.as_env(),
        "EFRIKORT_OUTBOX_POLL_INTERVAL_S": "0.1",
        # Development identity mode: the tests call HTTP APIs as whoever X-HSA-ID names.
        "EFRIKORT_TRUST_IDENTITY_HEADER": "true",
        "EFRIKORT_NOTIFICATIONS_WEBHOOK_SECRET": NOTICE_WEBHOOK_SECRET,
        "EFRIKORT_NOTIFICATIONS_LETTER_FOLDER": str(var_dir() / "test" / "letters"),
        "EFRIKORT_NOTIFICATIONS_POLL_INTERVAL_S": "0.2",
        "EFRIKORT_NOTIFICATIONS_BACKOFF_INITIAL_S": "0.5",
    }


@pytest.fixture(scope="session")
def services(service_env: dict[str, str]) -> Iterator[dict[str, ServiceProcess]]:
    logs = var_dir() / "test" / "logs" / time.strftime("%Y%m%d-%H%M%S")
    processes = {
        name: ServiceProcess(name, port, service_env, logs / f"{name}.log")
        for name, port in zip(SERVICE_PORTS, free_ports(len(SERVICE_PORTS)), strict=True)
    }
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready(timeout=120)
        yield processes
    finally:
        for process in processes.values():
            process.stop()


@pytest.fixture
async def db(infra: InfraEndpoints) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the server's owner, to look into every service's schema."""
    conn = await asyncpg.connect(infra.database_url)
    try:
        yield conn
    finally:
        await conn.close()
