"""What a transaction asks to run once it has committed runs after the commit, in order, and never for
work that was rolled back: registration wakes a request waiting for an outcome so, and the request's
client can read the outcome back at once (woken before the commit, it could read "pending")."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from efrikort.infra.stack import InfraEndpoints
from runtime import database
from runtime.transaction import UnitOfWork
from tests.integration.conftest import NoRelay

pytestmark = pytest.mark.integration


async def test_an_action_runs_after_the_commit_and_sees_what_the_transaction_wrote(
    engine: AsyncEngine, own_table: str, infra: InfraEndpoints
) -> None:
    work = UnitOfWork(engine, NoRelay(), producer="test")  # type: ignore[arg-type]
    reader = await asyncpg.connect(infra.database_url)
    ran: list[tuple[str, bool]] = []
    try:
        async with work.begin() as tx:
            await tx.conn.execute(text(f"INSERT INTO {own_table} VALUES ('the outcome')"))
            tx.after_commit(lambda: ran.append(("first", tx.conn.in_transaction())))
            another = tx.caused_by("another message", None)
            another.after_commit(lambda: ran.append(("second", another.conn.in_transaction())))
            assert ran == [], "ran before the commit"
        assert ran == [("first", False), ("second", False)], "ran with the transaction still open"
        assert await reader.fetchval(f"SELECT what FROM {own_table}") == "the outcome"
    finally:
        await reader.close()


async def test_an_action_of_a_transaction_that_rolls_back_never_runs(engine: AsyncEngine) -> None:
    work = UnitOfWork(engine, NoRelay(), producer="test")  # type: ignore[arg-type]
    ran: list[str] = []
    with pytest.raises(LookupError):
        async with work.begin() as tx:
            tx.after_commit(lambda: ran.append("rolled back"))
            raise LookupError("the handler failed")
    assert ran == []


async def test_an_action_of_a_savepoint_rolled_back_never_runs_while_the_others_of_its_transaction_do(
    engine: AsyncEngine,
) -> None:
    """As the consumer handles a batch one message at a time: each message in a savepoint, flushed when it
    went through, discarded when it failed."""
    work = UnitOfWork(engine, NoRelay(), producer="test")  # type: ignore[arg-type]
    ran: list[str] = []
    async with work.begin() as batch:
        async with database.savepoint(batch.conn, "one_message"):
            batch.after_commit(lambda: ran.append("went through"))
            await batch.flush()
        with pytest.raises(LookupError):
            try:
                async with database.savepoint(batch.conn, "one_message"):
                    batch.after_commit(lambda: ran.append("failed"))
                    raise LookupError("poison")
            except LookupError:
                batch.discard()
                raise
    assert ran == ["went through"]
