"""`efrikort statements`: what each statement has cost PostgreSQL, by the service whose role ran it.

The local PostgreSQL loads `pg_stat_statements` (`efrikort.infra.postgres.SERVER_SETTINGS`) and its
database has the extension. It found the outbox relay's take reading a whole emptied table for every
batch, in minutes, where timing the services from outside had not. Statement texts are normalised by
PostgreSQL (every constant a `$n`), and the services bind every value, so no text holds patient data.
Reading every role's statements takes the database's owner (or `pg_read_all_stats`): a service's role
sees its own only, which is what operators want of the roles of a real deployment too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

NOT_LOADED = (
    "pg_stat_statements is not loaded in this PostgreSQL: the local one loads it from its start "
    "(efrikort infra down, then efrikort up); a server of your own needs "
    "shared_preload_libraries = 'pg_stat_statements' and CREATE EXTENSION pg_stat_statements"
)

_TOP = """
SELECT r.rolname AS role, s.calls, s.total_exec_time, s.rows, s.query
FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.total_exec_time DESC
LIMIT $1
"""


@dataclass(frozen=True)
class StatementCost:
    """One normalised statement of one role: how often it ran, and for how long in all."""

    role: str
    calls: int
    total_ms: float
    rows: int
    query: str

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0

    def line(self, width: int = 100) -> str:
        text = " ".join(self.query.split())
        text = text if len(text) <= width else text[: width - 1] + "…"
        return (
            f"{self.role:<28} {self.calls:>9} {self.total_ms:>11.1f} {self.mean_ms:>9.3f} "
            f"{self.rows / max(1, self.calls):>8.1f}  {text}"
        )


HEADER = f"{'role':<28} {'calls':>9} {'total ms':>11} {'mean ms':>9} {'rows/call':>8}  statement"


class NotLoaded(RuntimeError):
    """The server does not collect statement statistics."""


async def top(database_url: str, limit: int) -> list[StatementCost]:
    """The `limit` statements that took the most time in all, since the last reset."""
    conn = await asyncpg.connect(database_url)
    try:
        rows: Sequence[asyncpg.Record] = await conn.fetch(_TOP, limit)
    except (asyncpg.UndefinedTableError, asyncpg.ObjectNotInPrerequisiteStateError) as error:
        raise NotLoaded(NOT_LOADED) from error
    finally:
        await conn.close()
    return [StatementCost(r["role"], r["calls"], r["total_exec_time"], r["rows"], r["query"]) for r in rows]


async def reset(database_url: str) -> None:
    """Forget what was counted, so that the next reading covers only what runs from now."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_stat_statements_reset()")
    except (asyncpg.UndefinedFunctionError, asyncpg.ObjectNotInPrerequisiteStateError) as error:
        raise NotLoaded(NOT_LOADED) from error
    finally:
        await conn.close()
