"""`efrikort statements`: what each statement cost PostgreSQL, by role, from the local server's
`pg_stat_statements`; a service's role sees only its own statements' texts, and a database without the
extension is told so, not answered with an empty list."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from efrikort import statements
from efrikort.infra.stack import InfraEndpoints

pytestmark = pytest.mark.integration


@pytest.fixture
async def probe(infra: InfraEndpoints, own_table: str) -> str:
    """A table of the test's own, read three times by the database's owner."""
    owner = await asyncpg.connect(infra.database_url)
    try:
        for _ in range(3):
            await owner.fetchval(f"SELECT count(*) FROM {own_table} WHERE what > $1", "a")
    finally:
        await owner.close()
    return own_table


def with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


async def test_the_statements_are_listed_with_their_calls_and_role_and_forgotten_on_reset(
    infra: InfraEndpoints, probe: str
) -> None:
    costs = await statements.top(infra.database_url, 10_000)

    [read] = [c for c in costs if f"FROM {probe} WHERE" in c.query]
    assert (read.calls, read.rows, read.role) == (3, 3, urlsplit(infra.database_url).username or "postgres")
    assert "$1" in read.query, "a constant was kept in the text"
    assert read.mean_ms == pytest.approx(read.total_ms / 3) and probe in read.line(width=200)

    await statements.reset(infra.database_url)
    assert [c for c in await statements.top(infra.database_url, 10_000) if f"FROM {probe} WHERE" in c.query] == []


async def test_a_service_role_does_not_read_the_statements_of_another(infra: InfraEndpoints, probe: str) -> None:
    role, password = f"statements_reader_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    owner = await asyncpg.connect(infra.database_url)
    await owner.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        seen = await statements.top(with_login(infra.database_url, role, password), 10_000)
    finally:
        await owner.execute(f"DROP ROLE {role}")
        await owner.close()
    assert [c for c in seen if probe in c.query] == []
    assert any(c.query == "<insufficient privilege>" for c in seen), "the owner's statements were not counted"


async def test_a_database_without_the_extension_is_told_so(infra: InfraEndpoints) -> None:
    database = f"statements_none_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(infra.database_url)
    await owner.execute(f'CREATE DATABASE "{database}"')
    try:
        url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{database}"))
        with pytest.raises(statements.NotLoaded, match="shared_preload_libraries"):
            await statements.top(url, 10)
        with pytest.raises(statements.NotLoaded):
            await statements.reset(url)
    finally:
        await owner.execute(f'DROP DATABASE "{database}"')
        await owner.close()
