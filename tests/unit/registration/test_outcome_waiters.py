"""Requests waiting for their outcomes: the consumer answers them at once; the outcomes that landed in
another replica are looked up in the database for all the waiting requests together, not one look-up
per request (a backlog of late answers made hundreds a second, and took the CPU the answers needed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence

from registration.outcome_waiters import LOOK_IN_DATABASE_EVERY_S, OutcomeWaiters
from registration.store import SubmissionKey


class Database:
    """What the outcomes table holds, and each look-up asked of it."""

    def __init__(self, stored: Mapping[SubmissionKey, bytes]) -> None:
        self.stored = stored
        self.look_ups: list[list[SubmissionKey]] = []

    async def outcomes(self, keys: Sequence[SubmissionKey]) -> dict[SubmissionKey, bytes]:
        self.look_ups.append(sorted(keys))
        return {key: self.stored[key] for key in keys if key in self.stored}


def any_outcome(outcome: bytes) -> bool:
    return True


def key_of(fee: int) -> SubmissionKey:
    return ("SYS1", f"submission-{fee}")


@contextlib.asynccontextmanager
async def looking_in(waiters: OutcomeWaiters, database: Database) -> AsyncIterator[None]:
    """The waiters' database look-ups running, as registration's background task runs them."""
    task = asyncio.create_task(waiters.look_in_database(database.outcomes))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_outcomes_stored_by_another_replica_are_looked_up_for_every_waiting_request_at_once() -> None:
    waiters = OutcomeWaiters(reply_timeout_s=5)
    database = Database({key_of(fee): f"outcome {fee}".encode() for fee in range(20)})

    async with looking_in(waiters, database):
        answers = await asyncio.gather(*(waiters.wait(f"fee-{fee}", key_of(fee), any_outcome) for fee in range(20)))

    assert answers == [f"outcome {fee}".encode() for fee in range(20)]
    assert database.look_ups == [sorted(key_of(fee) for fee in range(20))]


async def test_an_outcome_the_consumer_delivers_answers_at_once_without_a_look_up() -> None:
    waiters = OutcomeWaiters(reply_timeout_s=5)
    database = Database({})

    async with looking_in(waiters, database):
        waiting = asyncio.create_task(waiters.wait("fee-1", key_of(1), any_outcome))
        await asyncio.sleep(0)
        waiters.deliver("fee-1", b"assessed")
        assert await asyncio.wait_for(waiting, LOOK_IN_DATABASE_EVERY_S / 2) == b"assessed"

    assert database.look_ups == []


async def test_an_outcome_that_does_not_answer_the_request_is_waited_past() -> None:
    waiters = OutcomeWaiters(reply_timeout_s=5)

    waiting = asyncio.create_task(waiters.wait("fee-1", key_of(1), lambda outcome: outcome == b"the answer"))
    await asyncio.sleep(0)
    waiters.deliver("fee-1", b"another fee's")
    await asyncio.sleep(0.05)
    waiters.deliver("fee-1", b"the answer")

    assert await asyncio.wait_for(waiting, 1) == b"the answer"


async def test_a_request_whose_outcome_never_comes_is_answered_none_after_the_timeout() -> None:
    waiters = OutcomeWaiters(reply_timeout_s=0.2)

    async with looking_in(waiters, Database({})):
        assert await waiters.wait("fee-1", key_of(1), any_outcome) is None
    assert waiters._waiting == {}
