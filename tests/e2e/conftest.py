"""What the e2e tests share besides the stack (`tests/stack_fixtures.py`): database and HTTP clients, the directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from efrikort.infra.stack import InfraEndpoints
from efrikort.services import ServiceProcess
from efrikort.through_access import until_opened
from tests.actors import admit
from tests.e2e.registration_actors import Directory, new_directory
from tests.submissions import provide_system_topics


@pytest.fixture(scope="session")
async def directory(services: dict[str, ServiceProcess], infra: InfraEndpoints) -> Directory:
    """The registration tests' units, employees and systems, imported into access, their grants taken in by
    the deciding services, and the approved system's topics opened by access."""
    made = new_directory()
    await admit(infra, made.actors())
    await until_opened(infra.kafka_bootstrap_servers, infra.admin_options(), [made.system])
    # Access never opens the topics of a system it does not approve; the tests send through it anyway,
    # standing in for a system that had its topics before it lost its approval.
    await provide_system_topics(infra.kafka_bootstrap_servers, made.unapproved_system)
    return made


@pytest.fixture
async def registration_http(services: dict[str, ServiceProcess]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services["registration"].url, timeout=30) as client:
        yield client
