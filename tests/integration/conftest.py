"""What integration tests of several kinds share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from efrikort.infra.stack import InfraEndpoints
from runtime.settings import async_driver_url


@pytest.fixture
async def engine(infra: InfraEndpoints) -> AsyncIterator[AsyncEngine]:
    """An engine on the session's database as its owner (no service's role, no schema of its own)."""
    made = create_async_engine(async_driver_url(infra.database_url))
    try:
        yield made
    finally:
        await made.dispose()
