"""What integration tests of several kinds share."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from efrikort import statements
from efrikort.infra.stack import InfraEndpoints
from runtime import database
from runtime.settings import ServiceSettings, async_driver_url
from runtime.transaction import UnitOfWork


@pytest.fixture
async def engine(infra: InfraEndpoints) -> AsyncIterator[AsyncEngine]:
    """An engine on the session's database as its owner (no service's role, no schema of its own)."""
    made = create_async_engine(async_driver_url(infra.database_url))
    try:
        yield made
    finally:
        await made.dispose()


@pytest.fixture
async def own_table(infra: InfraEndpoints) -> AsyncIterator[str]:
    """A table of the test's own, `(what text)`, made and dropped by the database's owner."""
    name = f"test_table_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(infra.database_url)
    await owner.execute(f"CREATE TABLE {name} (what text)")
    try:
        yield name
    finally:
        await owner.execute(f"DROP TABLE {name}")
        await owner.close()


class NoRelay:
    """The outbox rows a test's own unit of work writes are never published: no relay runs there."""

    def wake(self) -> None:
        pass


@contextlib.asynccontextmanager
async def service_work(
    infra: InfraEndpoints, settings_type: type[ServiceSettings], package: ModuleType, producer: str
) -> AsyncIterator[UnitOfWork]:
    """A service's schema and role under a name of the test's own, migrated with the `package`'s migrations,
    and a unit of work on it; no service runs. Both are dropped after."""
    settings = settings_type(service_name=f"{producer}_work_{uuid.uuid4().hex[:8]}", database_url=infra.database_url)  # type: ignore[call-arg]
    await database.provision(settings)
    made = database.create_engine(settings)
    await database.migrate(made, Path(str(package.__file__)).parent / "migrations", settings.database_schema)
    try:
        yield UnitOfWork(made, NoRelay(), producer=producer)  # type: ignore[arg-type]
    finally:
        await made.dispose()
        owner = await asyncpg.connect(infra.database_url)
        await owner.execute(f"DROP OWNED BY {settings.database_role} CASCADE")
        await owner.execute(f"DROP ROLE {settings.database_role}")
        await owner.close()


async def statements_run(
    work: UnitOfWork, infra: InfraEndpoints, action: Callable[[], Awaitable[None]]
) -> list[statements.StatementCost]:
    """The statements `action` sent PostgreSQL under the unit of work's role, by their text: counted from zero
    by `efrikort.statements` (the local server loads `pg_stat_statements`). Calls before it, whose first use of
    a connection asks the server about types, are not counted."""
    async with work.engine.connect() as conn:
        role = (await conn.exec_driver_sql("SELECT current_user")).scalar_one()
    await statements.reset(infra.database_url)
    await action()
    run = [statement for statement in await statements.top(infra.database_url, 1000) if statement.role == role]
    return sorted(run, key=lambda statement: statement.query)
