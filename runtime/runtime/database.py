"""One PostgreSQL schema and one role per service; migrations applied at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from runtime.settings import ServiceSettings, async_driver_url

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    """An engine whose every connection works inside the service's own schema, and whose pool hands out
    no connection the server has closed."""
    engine = create_async_engine(
        async_driver_url(settings.own_database_url()),
        pool_size=settings.database_pool_size,
        # A statement's parameters are patient data (names, addresses, amounts): an error's text goes
        # to logs and to dead letters' `dlq_error` header, so it must not carry them.
        hide_parameters=True,
        connect_args={
            "server_settings": {"search_path": settings.database_schema, "application_name": settings.service_name}
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose socket the server closed (a restart, a terminated backend) is replaced
    before it is handed out (the pool retries the checkout when this raises).

    In place of SQLAlchemy's `pool_pre_ping`, which on asyncpg sends BEGIN, an empty statement and ROLLBACK
    at every checkout: three round trips before each HTTP request's first statement. The driver notices a
    closed socket as soon as the server closes it, so asking it costs nothing."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


class KeptConnection:
    """One connection held for a loop's life instead of checked out of the pool for every batch: the
    outbox relay's, each consumer's: a checkout's own work (the pool's bookkeeping, its events, a
    connection object) would be paid again for every batch. A connection that broke is replaced on the
    next `get`; one whose transaction failed is closed (`discard`), so that whatever state the failure
    left it in goes with it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def get(self) -> AsyncConnection:
        conn = self._conn
        if conn is None or conn.invalidated or conn.closed:
            conn = self._conn = await self._engine.connect()
        return conn

    async def discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


async def provision(settings: ServiceSettings) -> None:
    """Create the service's role and schema if they are missing (local and test set-ups).

    In production operations create them and set `EFRIKORT_SERVICE_DATABASE_URL`, and this does nothing.
    An existing role's password is set again only in development mode: elsewhere the role may be
    operations' own, and a start-up must not change what its other users log in with.
    """
    if settings.service_database_url:
        return
    role, schema = settings.database_role, settings.database_schema
    for name in (role, schema):
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"service name gives an unsafe SQL identifier: {name!r}")
    conn = await asyncpg.connect(settings.database_url)
    try:
        # Several replicas may start at once; one at a time creates the role and schema.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('efrikort-provision'))")
            await _ensure_role(conn, role, settings)
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
            database = await conn.fetchval("SELECT current_database()")
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    finally:
        await conn.close()


async def _ensure_role(conn: asyncpg.Connection, role: str, settings: ServiceSettings) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if exists and not settings.development_mode:
        log.info("role %s exists; its password is left as it is (not development mode)", role)
        return
    password = settings.database_password.get_secret_value().replace("'", "''")
    verb = "ALTER" if exists else "CREATE"
    await conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD '{password}'")


def _alembic_config(script_location: Path, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["schema"] = schema
    return config


async def migrate(engine: AsyncEngine, script_location: Path, schema: str) -> None:
    """Bring the service's schema to the newest migration, holding a lock so replicas take turns."""

    def upgrade(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"migrate-{schema}"})
        config = _alembic_config(script_location, schema)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
    log.info("schema %s migrated", schema)


async def is_reachable(engine: AsyncEngine) -> bool:
    try:
        async with asyncio.timeout(2.0), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `conn`, for the few reads on a hot path that return many rows:
    SQLAlchemy's row processing costs more there than the rules that use the rows.

    SQLAlchemy begins its transaction with the first statement it runs; a read through the driver
    before that would run outside the transaction, so then a trivial statement begins it first.
    """
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's own lazy BEGIN, sent now (a `SELECT 1` to provoke it cost a second round trip
        # on the first statement of every consumer's batch). Its adapter then knows the transaction.
        adapter: Any = raw.dbapi_connection
        await adapter._start_transaction()
    return driver


async def driver_outside_transaction(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `conn`, outside any transaction: each statement through it commits on
    its own (the outbox relay's, which must not hold a transaction open while Kafka takes a batch)."""
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if driver.is_in_transaction():
        raise RuntimeError("the connection is inside a transaction")
    return driver


_SAVEPOINT_NAME = re.compile(r"[a-z_]{1,40}")


@asynccontextmanager
async def savepoint(conn: AsyncConnection, name: str) -> AsyncIterator[None]:
    """A savepoint inside `conn`'s transaction: what runs inside is undone alone if it raises.

    SQLAlchemy's `begin_nested` names every savepoint anew (`sa_savepoint_N`), so each one was parsed and
    prepared as a new statement, two round trips each for SAVEPOINT and RELEASE, and pushed a statement
    the connection uses every time out of its cache. These are sent as they are, under a fixed name."""
    if not _SAVEPOINT_NAME.fullmatch(name):
        raise ValueError(f"not a savepoint name: {name!r}")
    driver = await driver_connection(conn)
    await driver.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        if not driver.is_closed():
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                await driver.execute(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    await driver.execute(f"RELEASE SAVEPOINT {name}")


def is_connection_lost(error: BaseException) -> bool:
    """The database connection broke (as SQLAlchemy or, for statements run through the driver,
    asyncpg reports it): nothing was committed, and the work can be done again elsewhere.

    Only the database's own connection errors: a handler's ConnectionError (a web hook that did
    not answer, say) is a failure of that handler, retried as any other."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated
    return isinstance(error, asyncpg.PostgresConnectionError)
