"""One tiny service per test module, started once and shared by the module's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from tests.integration.runtime.harness import TinyService


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    """Settings a module wants different from the harness's; override the fixture in the module."""
    return {}


@pytest.fixture(scope="module")
async def service(
    infra: InfraEndpoints, tmp_path_factory: pytest.TempPathFactory, service_settings: dict[str, object]
) -> AsyncIterator[TinyService]:
    """The module's service, not started: a name, topics and a migration folder of its own."""
    tiny = TinyService(infra, tmp_path_factory.mktemp("rt-service"), **service_settings)
    try:
        yield tiny
    finally:
        await tiny.close()


@pytest.fixture(scope="module")
async def http(service: TinyService) -> AsyncIterator[httpx.AsyncClient]:
    """The module's service running and ready; an HTTP client for its routes."""
    async with service.running() as client:
        yield client
