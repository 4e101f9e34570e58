"""Registration's message handlers: thin, they call the registration path and the read models.

Each is a module function, its dependencies keyword parameters bound once in `app.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from contracts.integration import FeeOutcome
from contracts.topics import SYSTEM_FEE_SUBMISSIONS
from registration import store
from registration.outcome_waiters import OutcomeWaiters
from registration.registering import Incoming, register_submissions
from registration.submission_rules import Rejected
from runtime.consumers import Delivery, InvalidMessage, describe_validation_error
from runtime.transaction import Transaction


async def on_fee_submissions(deliveries: Sequence[Delivery], tx: Transaction, *, key_secret: str, region: str) -> None:
    """Registers a poll's submissions. Each comes through the integrated system whose own topic it came
    on (only that system may write it), which must be approved. `key_secret` is the secret of the patient
    key, `region` the one this deployment serves."""
    items = [
        Incoming(d.value, tx.caused_by(d.correlation_id, d.message_id), system_topic=_system_of(d)) for d in deliveries
    ]
    results = await register_submissions(items, tx.conn, key_secret, region)
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
    """Keeps every outcome per submission id, and wakes an HTTP request waiting for one."""
    latest = _latest_per_submission([_stored(delivery) for delivery in deliveries])
    await store.store_outcomes(tx.conn, latest)
    for stored in latest:
        waiters.deliver(stored.submission_id, stored.outcome)


def _stored(delivery: Delivery) -> store.StoredOutcome:
    try:
        outcome = FeeOutcome.model_validate_json(delivery.value)
    except ValidationError as error:
        raise InvalidMessage(describe_validation_error(error)) from None
    return store.StoredOutcome(outcome.submission_id, outcome.status.value, delivery.value)


def _latest_per_submission(received: Sequence[store.StoredOutcome]) -> list[store.StoredOutcome]:
    """One outcome per id: the last accepted one, or else the last one."""
    latest: dict[str, store.StoredOutcome] = {}
    for stored in received:
        kept = latest.get(stored.submission_id)
        if kept is None or kept.status != "accepted" or stored.status == "accepted":
            latest[stored.submission_id] = stored
    return list(latest.values())
