"""Protection's message handler: record fee versions, recompute each patient once per batch, publish
what changed, and answer each registration with its outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.events import FeeCorrected, FeeDeleted, FeeRegistered
from contracts.topics import FEE_OUTCOMES
from protection import publish, store
from protection.publish import LedgerWrites
from protection.recompute import recompute, status_on, today_in_sweden
from protection.regions import RegionSettings
from protection.store import FeeEvent
from runtime.consumers import BatchHandler, Delivery, InvalidMessage
from runtime.transaction import Transaction

_FEE_EVENTS: dict[str, type[FeeEvent]] = {e.event_type: e for e in (FeeRegistered, FeeCorrected, FeeDeleted)}


def fee_event(delivery: Delivery) -> FeeEvent:
    event_type = delivery.headers.get("event_type", "")
    model = _FEE_EVENTS.get(event_type)
    if model is None:
        raise InvalidMessage(f"event_type: {event_type or 'missing'} is not a fee event")
    return delivery.envelope(model).payload


def on_fee_events(region: RegionSettings) -> BatchHandler:
    async def handle(deliveries: Sequence[Delivery], tx: Transaction) -> None:
        events = [(delivery, fee_event(delivery)) for delivery in deliveries]
        keys = sorted({event.patient_key for _, event in events})
        await store.lock_patients(tx.conn, keys)
        await store.record_fee_versions(tx.conn, [event for _, event in events])
        histories = await store.histories(tx.conn, keys)
        published = await store.published_statuses(tx.conn, keys)
        now = datetime.now(UTC)
        today = today_in_sweden(now)
        writes = LedgerWrites.empty()
        # The last delivery of each patient is what caused that patient's changes.
        cause = {event.patient_key: delivery for delivery, event in events}
        for key in keys:
            result = recompute(histories[key], region, now)
            status = status_on(today, result.ledger, result.cards, region, now)
            delivery = cause[key]
            patient_tx = tx.caused_by(delivery.correlation_id, delivery.message_id)
            changes = publish.ledger_changes(key, result, status, published.get(key), today, now, writes)
            for topic, event in changes:
                await patient_tx.emit(topic, key, event)
            for outcome_delivery, event in events:
                if event.patient_key == key and isinstance(event, FeeRegistered):
                    outcome = publish.outcome(event, result, region, now)
                    await tx.caused_by(outcome_delivery.correlation_id, outcome_delivery.message_id).send(
                        FEE_OUTCOMES, event.submission_id, outcome.to_json()
                    )
        await store.write(tx.conn, writes)

    return handle
