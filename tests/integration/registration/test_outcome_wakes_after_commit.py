"""`POST /v1/fees` waits for its outcome, and registration's outcome consumer wakes it: only once the
outcome is committed, so that the caller who reads it back at once finds it (woken inside the consumer's
transaction, the request answered 200 and a read right after said 202, pending)."""

from __future__ import annotations

import asyncio

import pytest

from contracts.integration import FeeOutcome, OutcomeStatus
from registration import store
from registration.handlers import on_fee_outcomes
from registration.outcome_waiters import OutcomeWaiters
from runtime.consumers import Delivery
from runtime.transaction import UnitOfWork
from tests.integration.registration.conftest import registered_fee

pytestmark = pytest.mark.integration

SUBMISSION = ("SE2321000016-SYS1", "submission-1")


async def test_a_request_waiting_for_its_outcome_is_woken_once_the_outcome_can_be_read(work: UnitOfWork) -> None:
    fee_id = await registered_fee(work, *SUBMISSION)
    outcome = FeeOutcome(
        submission_id=SUBMISSION[1], status=OutcomeStatus.ACCEPTED, fee_id=str(fee_id), amount_due=200
    ).to_json()
    waiters = OutcomeWaiters(reply_timeout_s=10)

    async def the_request() -> tuple[bytes | None, dict[store.SubmissionKey, store.StoredOutcome]]:
        answer = await waiters.wait(str(fee_id), SUBMISSION, lambda _: True)
        async with work.engine.connect() as another:
            return answer, await store.outcomes(another, [SUBMISSION])

    request = asyncio.create_task(the_request())
    await asyncio.sleep(0.01)
    async with work.begin() as tx:
        await on_fee_outcomes([Delivery("outcomes", 0, 0, None, outcome, {})], tx, waiters=waiters)
        await asyncio.sleep(0.1)
        assert not request.done(), "the request was answered before its outcome was committed"

    answer, readable = await asyncio.wait_for(request, timeout=5)
    assert answer == outcome
    assert readable[SUBMISSION].outcome == outcome
