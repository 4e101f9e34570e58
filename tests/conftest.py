"""Fixtures shared by every kind of test: the real infrastructure and plain Kafka clients; and the heavy
tier, skipped unless asked for."""

import os

import pytest

from runtime.settings import DEVELOPMENT_ENV

# Every service a test builds or starts (processes inherit this environment) runs in development mode,
# with the repository's published secrets; the tests of the refusal say `development_mode=False`.
os.environ.update(DEVELOPMENT_ENV)

from efrikort.cli import HEAVY_TESTS_ENV
from tests.infra_fixtures import *  # noqa: F403 - the session's Kafka and PostgreSQL
from tests.log_scan import pytest_configure, pytest_sessionfinish  # noqa: F401 - the run's log check
from tests.stack_fixtures import *  # noqa: F403 - the whole stack as processes, for e2e and browser tests


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heavy tier (`@pytest.mark.heavy`: stacks of their own taking minutes each) is skipped unless
    asked for, so that the default run stays within CI's time on a 2-core machine."""
    if os.environ.get(HEAVY_TESTS_ENV) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"heavy tier (minutes each): run with `./efrikort test --heavy` or {HEAVY_TESTS_ENV}=1 (README, Tests)"
    )
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
