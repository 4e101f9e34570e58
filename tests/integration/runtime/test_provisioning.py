"""Provisioning creates a service's role, and leaves an existing role's password alone outside development
mode: the role may be operations' own, and a start-up must not change what it logs in with."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from efrikort.infra.stack import InfraEndpoints
from runtime import database
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration

OPERATIONS_PASSWORD = "chosen-by-operations"


@pytest.fixture
async def existing_role(infra: InfraEndpoints) -> AsyncIterator[str]:
    """A service whose role operations made beforehand, with a password of their choosing."""
    name = f"prov_{uuid.uuid4().hex[:10]}"
    owner = await asyncpg.connect(infra.database_url)
    await owner.execute(f"CREATE ROLE efrikort_{name} LOGIN PASSWORD '{OPERATIONS_PASSWORD}'")
    try:
        yield name
    finally:
        await owner.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await owner.execute(f"DROP OWNED BY efrikort_{name} CASCADE")
        await owner.execute(f"DROP ROLE IF EXISTS efrikort_{name}")
        await owner.close()


async def password_of(infra: InfraEndpoints, role: str) -> str:
    """The role's stored password hash: the test servers trust local connections, so a login proves nothing."""
    owner = await asyncpg.connect(infra.database_url)
    try:
        return str(await owner.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role))
    finally:
        await owner.close()


def settings(infra: InfraEndpoints, name: str, *, development_mode: bool) -> ServiceSettings:
    return ServiceSettings(
        service_name=name,
        database_url=infra.database_url,
        database_password="what-this-process-was-given",
        development_mode=development_mode,
    )


async def test_outside_development_mode_provisioning_keeps_an_existing_roles_password(
    infra: InfraEndpoints, existing_role: str
) -> None:
    before = await password_of(infra, f"efrikort_{existing_role}")
    await database.provision(settings(infra, existing_role, development_mode=False))
    assert await password_of(infra, f"efrikort_{existing_role}") == before


async def test_in_development_mode_provisioning_sets_the_roles_password_it_was_given(
    infra: InfraEndpoints, existing_role: str
) -> None:
    before = await password_of(infra, f"efrikort_{existing_role}")
    await database.provision(settings(infra, existing_role, development_mode=True))
    assert await password_of(infra, f"efrikort_{existing_role}") != before
