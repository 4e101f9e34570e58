"""The pool hands out connections without asking the server first, and never one the server has closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from efrikort.infra.stack import InfraEndpoints
from runtime import database
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(infra: InfraEndpoints) -> AsyncIterator[AsyncEngine]:
    """A service's engine with a pool of one, so every checkout hands out the same connection while it lives."""
    settings = ServiceSettings(service_name="pooled", service_database_url=infra.database_url, database_pool_size=1)
    engine = database.create_engine(settings)
    try:
        yield engine
    finally:
        await engine.dispose()


async def backend_of(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def last_heard_from(server: asyncpg.Connection, backend: int) -> datetime:
    """When the backend last began or ended a statement."""
    heard: datetime = await server.fetchval("SELECT state_change FROM pg_stat_activity WHERE pid = $1", backend)
    return heard


async def test_taking_a_connection_from_the_pool_sends_the_server_nothing(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    # Every HTTP request takes one: a ping at each would be three round trips (BEGIN, an empty statement,
    # ROLLBACK) before the request's first statement.
    backend = await backend_of(engine)
    before = await last_heard_from(db, backend)
    for _ in range(3):
        async with engine.connect():
            pass
    assert await last_heard_from(db, backend) == before


async def test_a_connection_whose_backend_the_server_ended_is_replaced_before_it_is_handed_out(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    backend = await backend_of(engine)
    assert await db.fetchval("SELECT pg_terminate_backend($1)", backend)
    await asyncio.sleep(0.5)  # the server closes the socket; the driver reads the end of it

    assert await backend_of(engine) != backend
