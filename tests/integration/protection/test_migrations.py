"""Protection's schema migrations: the functions a batch checks for exits with (0009, the runtime's), locks its
patients and reads with (0010), and the relay holds and lets go of its batches with (0011, the runtime's) are
made for the service's role alone, and going back drops them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from efrikort.infra.stack import InfraEndpoints
from runtime.settings import async_driver_url

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[3] / "services" / "protection" / "protection" / "migrations"
FUNCTIONS = sorted(
    ["exited_among", "lock_patients_and_read_before_recording", "hold_outbox_batch", "release_outbox_batch"]
)


async def test_the_functions_a_batch_and_the_relay_call_are_not_public_and_a_downgrade_drops_them(
    infra: InfraEndpoints,
) -> None:
    schema = f"protection_migration_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(
        async_driver_url(infra.database_url), connect_args={"server_settings": {"search_path": schema}}
    )

    def migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes.update(schema=schema, connection=connection)
        (command.downgrade if down else command.upgrade)(config, revision)

    async def functions(conn: AsyncConnection) -> list[tuple[str, bool]]:
        rows = await conn.execute(
            text(
                "SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema AND p.proname = ANY(:names) "
                "ORDER BY p.proname"
            ),
            {"schema": schema, "names": FUNCTIONS},
        )
        return [tuple(row) for row in rows]

    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
            await conn.run_sync(migrate, "head")
            made = await functions(conn)
            await conn.run_sync(migrate, "0008", down=True)
            after_downgrade = await functions(conn)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()

    assert made == [(name, False) for name in FUNCTIONS]
    assert after_downgrade == []
