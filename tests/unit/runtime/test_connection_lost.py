"""A consumer tells a broken database connection (the batch is redelivered, nothing was committed)
from a handler's own failure (retried, then dead-lettered), whichever layer reported it."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

from runtime.database import is_connection_lost


def test_a_connection_the_driver_lost_mid_statement_is_a_lost_connection() -> None:
    assert is_connection_lost(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"))


def test_a_connection_sqlalchemy_invalidated_is_a_lost_connection() -> None:
    assert is_connection_lost(DBAPIError("SELECT 1", None, OSError("reset"), connection_invalidated=True))


def test_a_statement_the_database_refused_is_not_a_lost_connection() -> None:
    assert not is_connection_lost(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_connection_lost(DBAPIError("SELECT 1", None, OSError("bad"), connection_invalidated=False))


def test_a_handlers_own_connection_error_is_not_the_databases() -> None:
    assert not is_connection_lost(ConnectionResetError("the receiver hung up"))
