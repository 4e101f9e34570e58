"""Fixtures shared by every kind of test: the real infrastructure and plain Kafka clients."""

import os

from runtime.settings import DEVELOPMENT_ENV

# Every service a test builds or starts (processes inherit this environment) runs in development mode,
# with the repository's published secrets; the tests of the refusal say `development_mode=False`.
os.environ.update(DEVELOPMENT_ENV)

from tests.infra_fixtures import *  # noqa: F403 - the session's Kafka and PostgreSQL
from tests.log_scan import pytest_configure, pytest_sessionfinish  # noqa: F401 - the run's log check
from tests.stack_fixtures import *  # noqa: F403 - the whole stack as processes, for e2e and browser tests
