"""Alembic environment: the shared one, in this service's schema."""

from runtime.migrations import run_environment

run_environment()
