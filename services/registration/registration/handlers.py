"""Registration's message handlers: thin, they call the registration path and the read models.

Each is a module function, its dependencies keyword parameters bound once in `app.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from pydantic import ValidationError

from contracts.integration import FeeOutcome, OutcomeStatus
from contracts.topics import SYSTEM_FEE_SUBMISSIONS
from registration import store
from registration.outcome_waiters import OutcomeWaiters
from registration.registering import Incoming, register_or_refuse
from registration.submission_rules import Rejected
from runtime.consumers import Delivery, InvalidMessage, describe_validation_error
from runtime.transaction import Transaction


async def on_fee_submissions(
    deliveries: Sequence[Delivery], tx: Transaction, *, key_secret: str, region: str, first_visit_date: date
) -> None:
    """Registers a poll's submissions. Each comes through the integrated system whose own topic it came
    on (only that system may write it), which must be approved. `key_secret` is the secret of the patient
    key, `region` the one this deployment serves, `first_visit_date` the first its rules cover."""
    items = [
        Incoming(d.value, tx.caused_by(d.correlation_id, d.message_id), system_topic=_system_of(d)) for d in deliveries
    ]
    results = await register_or_refuse(items, tx, key_secret, region, first_visit_date)
    unanswerable = [r for r in results if isinstance(r, Rejected) and r.submission_id is None]
    if unanswerable:
        # Without a submission id no outcome can be keyed to the sender: keep it in the DLQ. In a
        # batch this rolls the batch back; the runtime then handles it one message at a time.
        raise InvalidMessage("; ".join(f"{r.code}: {r.message}" for r in unanswerable[0].reasons))


def _system_of(delivery: Delivery) -> str:
    system = SYSTEM_FEE_SUBMISSIONS.system_of(delivery.topic)
    if system is None:
        # The subscription's pattern lets no other topic through; if one came, nobody could be answered.
        raise InvalidMessage(f"{delivery.topic} is no integrated system's submissions topic")
    return system


async def on_fee_outcomes(deliveries: Sequence[Delivery], tx: Transaction, *, waiters: OutcomeWaiters) -> None:
    """Keeps every fee's outcome under its submission's key, and wakes an HTTP request waiting for it once
    that is committed (a request woken before could answer, and its client read the outcome back, before
    it is there to be read).

    Only protection's outcomes are kept from here: each names its fee, whose submission says whose it
    is. Registration's own rejections on this topic name no sender; it kept them when it sent them."""
    assessed = _latest_per_fee([outcome for delivery in deliveries if (outcome := _assessed(delivery)) is not None])
    if not assessed:
        return  # the flush records the poll in the inbox
    # The poll emits nothing: its messages are taken in by the outcomes' own statement, not by one of their own.
    await store.store_assessed(tx.conn, assessed, tx.taking_in_now())

    def wake() -> None:
        for outcome in assessed:
            waiters.deliver(str(outcome.fee_id), outcome.outcome)

    tx.after_commit(wake)


def _assessed(delivery: Delivery) -> store.AssessedOutcome | None:
    try:
        outcome = FeeOutcome.model_validate_json(delivery.value)
    except ValidationError as error:
        raise InvalidMessage(describe_validation_error(error)) from None
    if outcome.status is not OutcomeStatus.ACCEPTED or outcome.fee_id is None:
        return None
    return store.AssessedOutcome(uuid.UUID(outcome.fee_id), delivery.value)


def _latest_per_fee(received: Sequence[store.AssessedOutcome]) -> list[store.AssessedOutcome]:
    """One outcome per fee (a re-send is answered again): the last one."""
    return list({outcome.fee_id: outcome for outcome in received}.values())
