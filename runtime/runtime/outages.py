"""Telling an outage from a poison message: which errors are no fault of the message being handled.

An outage (PostgreSQL or Kafka out of reach, a connection broken, a server shutting down) fails every
message alike, and retrying it is worth nothing until the dependency is back: the consumer pauses and
tries the same messages again later, and never dead-letters them for it. A network error of the
handler's own (a connection reset, a timeout) is tried again in place first, as a blip may pass, and
then waited out in the same way. Any other error is taken to be the message's (or the handler's with
that message): it is retried a bounded number of times and then dead-lettered.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, ProducerClosed
from sqlalchemy.exc import DBAPIError

_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
"""Admin shutdown, crash shutdown, cannot connect now (starting or stopping), too many connections;
besides class 08, the connection exceptions."""


def is_outage(error: BaseException) -> bool:
    """The error, or one it was raised from, says PostgreSQL or Kafka is out of reach."""
    return any(_is_unavailable(cause) for cause in _chain(error))


def is_network_failure(error: BaseException) -> bool:
    """An outage, or a refused or reset connection, an unreachable host or a timeout of whatever the
    handler talks to: the network's fault, never the message's."""
    return any(_is_unavailable(cause) or isinstance(cause, OSError | TimeoutError) for cause in _chain(error))


_DETERMINISTIC_SQLSTATE_CLASSES = frozenset({"22", "23", "42"})
"""Data exception, integrity constraint violation, syntax error or undefined object: the same statement
with the same message fails the same way every time."""


def is_deterministic(error: BaseException) -> bool:
    """PostgreSQL refused the statement itself (not a connection): trying the same message again, later,
    gives the same refusal, so waiting it out as an outage would stall its partition for ever."""
    return not is_outage(error) and any(
        isinstance(sqlstate := getattr(cause, "sqlstate", None), str)
        and sqlstate[:2] in _DETERMINISTIC_SQLSTATE_CLASSES
        for cause in _chain(error)
    )


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.ConnectionDoesNotExistError):
        return True
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES):
        return True
    if isinstance(error, KafkaConnectionError | KafkaTimeoutError | ProducerClosed):
        return True
    if isinstance(error, KafkaError):
        return bool(error.retriable)
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and those it was raised from (SQLAlchemy keeps the driver's as `orig`). Not the ones it
    was raised while handling: a handler that turns a caught timeout into its own refusal has decided."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__
