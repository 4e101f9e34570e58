"""Registration keeps a copy of every outcome (to answer `POST /v1/fees` and re-sends with). A poll of outcomes
emits nothing, so its messages are taken in by the outcomes' own statement, not by a statement of their own:
one round trip fewer on the way to a waiting request's answer. A message taken in before still has one
effect. Counted from `pg_stat_statements` (the local server loads it) for the test's own role."""

from __future__ import annotations

import uuid

import pytest

from contracts.integration import FeeOutcome, OutcomeStatus
from efrikort.infra.stack import InfraEndpoints
from registration import store
from registration.handlers import on_fee_outcomes
from registration.outcome_waiters import OutcomeWaiters
from runtime.consumers import Delivery
from runtime.inbox import Redelivered, first_deliveries
from runtime.transaction import UnitOfWork
from tests.integration.conftest import statements_run
from tests.integration.registration.conftest import registered_fee

pytestmark = pytest.mark.integration

CONSUMER = "registration-outcomes"
SENDER = "SE2321000016-SYS1"


async def a_registered_fee(work: UnitOfWork) -> tuple[str, uuid.UUID]:
    submission_id = f"submission-{uuid.uuid4().hex[:8]}"
    return submission_id, await registered_fee(work, SENDER, submission_id)


def outcome_of(submission_id: str, fee_id: uuid.UUID | None, status: OutcomeStatus) -> Delivery:
    outcome = FeeOutcome(
        submission_id=submission_id,
        status=status,
        fee_id=str(fee_id) if fee_id else None,
        amount_due=200 if status is OutcomeStatus.ACCEPTED else None,
    )
    return Delivery("outcomes", 0, 0, None, outcome.to_json(), {"event_id": uuid.uuid4().hex})


async def poll(work: UnitOfWork, deliveries: list[Delivery]) -> None:
    """A first hearing of a poll, as the runtime's consumer makes it: its messages handed over to be taken in."""
    async with work.begin(first_hearing=True) as tx:
        tx.take_in(CONSUMER, [d.message_id for d in deliveries])
        await on_fee_outcomes(deliveries, tx, waiters=OutcomeWaiters(reply_timeout_s=1))


async def statements_of(work: UnitOfWork, infra: InfraEndpoints, deliveries: list[Delivery]) -> list[str]:
    """The statements of the poll, made after one poll before it: the driver asks about types once a connection."""
    submission_id, fee_id = await a_registered_fee(work)
    await poll(work, [outcome_of(submission_id, fee_id, OutcomeStatus.ACCEPTED)])
    return [statement.query for statement in await statements_run(work, infra, lambda: poll(work, deliveries))]


async def kept(work: UnitOfWork, submission_id: str) -> bytes | None:
    async with work.engine.connect() as conn:
        stored = await store.outcomes(conn, [(SENDER, submission_id)])
    return stored[(SENDER, submission_id)].outcome if (SENDER, submission_id) in stored else None


async def taken_in_before(work: UnitOfWork, deliveries: list[Delivery]) -> bool:
    """Whether every message of the poll is in the inbox (asking records those that were not)."""
    async with work.begin() as tx:
        fresh = await first_deliveries(tx.conn, CONSUMER, [d.message_id for d in deliveries])
    return not fresh


async def test_a_poll_of_outcomes_is_taken_in_by_the_statement_that_keeps_them(
    work: UnitOfWork, infra: InfraEndpoints
) -> None:
    fees = [await a_registered_fee(work) for _ in range(2)]
    deliveries = [outcome_of(submission_id, fee_id, OutcomeStatus.ACCEPTED) for submission_id, fee_id in fees]

    statements = await statements_of(work, infra, deliveries)

    assert [await kept(work, submission_id) for submission_id, _ in fees] == [d.value for d in deliveries]
    recording = [query for query in statements if "INTO inbox" in query]
    assert len(recording) == 1 and "INTO outcomes" in recording[0], statements
    assert sorted(q for q in statements if q not in recording) == ["BEGIN", "COMMIT"], statements
    assert await taken_in_before(work, deliveries)


async def test_an_outcome_taken_in_before_rolls_the_poll_back_to_be_heard_with_the_inbox_asked_first(
    work: UnitOfWork,
) -> None:
    submission_id, fee_id = await a_registered_fee(work)
    deliveries = [outcome_of(submission_id, fee_id, OutcomeStatus.ACCEPTED)]
    assert not await taken_in_before(work, deliveries)  # recorded now, as a first delivery would have been

    with pytest.raises(Redelivered):
        await poll(work, deliveries)

    assert await kept(work, submission_id) is None, "the redelivered poll kept its outcome"


async def test_a_poll_with_nothing_to_keep_is_still_taken_in(work: UnitOfWork) -> None:
    """Registration's own rejections come back on the topic too; it kept them when it sent them."""
    deliveries = [outcome_of(f"rejected-{uuid.uuid4().hex[:8]}", None, OutcomeStatus.REJECTED)]

    await poll(work, deliveries)

    assert await taken_in_before(work, deliveries)
