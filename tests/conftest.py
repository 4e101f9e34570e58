"""Fixtures shared by every kind of test: the real infrastructure and plain Kafka clients."""

from tests.infra_fixtures import *  # noqa: F403 - the session's Kafka and PostgreSQL
