"""Registration's message handlers: thin, they call the registration path and the read models."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from contracts.integration import FeeOutcome
from registration import store
from registration.intake import Rejected
from registration.outcomes import OutcomeWaiters
from registration.register import Incoming, register_submissions
from runtime.consumers import BatchHandler, Delivery, InvalidMessage, describe_validation_error
from runtime.transaction import Transaction


def on_fee_submissions(key_secret: str) -> BatchHandler:
    """The submissions handler, bound to the secret of the patient key. Kafka submissions always
    come through an integrated system: the one they name, which must be approved."""

    async def handle(deliveries: Sequence[Delivery], tx: Transaction) -> None:
        items = [Incoming(d.value, tx.caused_by(d.correlation_id, d.message_id)) for d in deliveries]
        results = await register_submissions(items, tx.conn, key_secret)
        unanswerable = [r for r in results if isinstance(r, Rejected) and r.submission_id is None]
        if unanswerable:
            # Without a submission id no outcome can be keyed to the sender: keep it in the DLQ. In a
            # batch this rolls the batch back; the runtime then handles it one message at a time.
            raise InvalidMessage("; ".join(f"{r.code}: {r.message}" for r in unanswerable[0].reasons))

    return handle


def on_fee_outcomes(waiters: OutcomeWaiters) -> BatchHandler:
    """Keeps every outcome per submission id, and wakes an HTTP request waiting for one."""

    async def handle(deliveries: Sequence[Delivery], tx: Transaction) -> None:
        received: list[store.StoredOutcome] = []
        for delivery in deliveries:
            try:
                outcome = FeeOutcome.model_validate_json(delivery.value)
            except ValidationError as error:
                raise InvalidMessage(describe_validation_error(error)) from None
            received.append(store.StoredOutcome(outcome.submission_id, outcome.status.value, delivery.value))
        # One row per id: the last accepted one, or else the last one.
        latest: dict[str, store.StoredOutcome] = {}
        for stored in received:
            kept = latest.get(stored.submission_id)
            if kept is None or kept.status != "accepted" or stored.status == "accepted":
                latest[stored.submission_id] = stored
        await store.store_outcomes(tx.conn, list(latest.values()))
        for stored in latest.values():
            waiters.deliver(stored.submission_id, stored.outcome)

    return handle
