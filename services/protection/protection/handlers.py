"""Protection's message handler: record fee versions, recompute each patient once per batch, publish
what changed, and answer each registration with its outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from contracts import clock
from contracts.events import FeeCorrected, FeeDeleted, FeeRegistered
from contracts.topics import INTERNAL_FEE_OUTCOMES, SYSTEM_FEE_OUTCOMES
from protection import ledger_changes, store
from protection.ledger import Checkpoint, ReplayPosition
from protection.ledger_changes import PatientChanges
from protection.recompute import recompute, start_of
from protection.regions import RegionSettings
from protection.store import BeforeRecording, FeeEvent
from runtime.consumers import Delivery, InvalidMessage
from runtime.transaction import Transaction

Registration = tuple[Delivery, FeeRegistered]


async def on_fee_events(deliveries: Sequence[Delivery], tx: Transaction, *, region: RegionSettings) -> None:
    """Fee versions in, each patient of the batch recomputed once, what changed published and recorded."""
    fee_events = [(delivery, fee_event_of(delivery)) for delivery in deliveries]
    events = [event for _, event in fee_events]
    keys = sorted({event.patient_key for event in events})
    before = await store.lock_and_read_before(tx.conn, [event.fee_id for event in events], keys)
    now = clock.now()
    today = clock.today_in_sweden(now)
    recorded = await recorded_with_starts(tx, events, before, today)
    stored = await store.stored_patients(tx.conn, keys, recorded.starts)
    batch = [
        ledger_changes.patient_changes(
            key,
            recompute(stored[key].history, region, now),
            stored[key].published_status,
            recorded.checkpoints.get(key),
            today,
            now,
        )
        for key in keys
    ]
    # The last delivery of each patient is what caused that patient's changes.
    cause = {event.patient_key: delivery for delivery, event in fee_events}
    registrations = registrations_by_patient(fee_events)
    for changes in batch:
        await publish_changes(tx, cause[changes.patient_key], changes)
        await answer_registrations(tx, registrations.get(changes.patient_key, []), changes)
    await store.record_changes(tx.conn, batch)


class Recorded(NamedTuple):
    """A batch's fee versions recorded, and where each patient's recomputation may start."""

    starts: dict[str, Checkpoint | None]
    checkpoints: dict[str, Checkpoint]
    """Each patient's checkpoint as stored before the batch (a patient without one has none yet)."""


async def recorded_with_starts(
    tx: Transaction, events: Sequence[FeeEvent], before: BeforeRecording, today: date
) -> Recorded:
    """Record the fee versions, and say where each patient's recomputation may start (`before`: what was
    stored before the batch): from the stored checkpoint when no fee of the batch was, or now is, at or
    before it; else from the first fee."""
    keys = sorted({event.patient_key for event in events})
    moved = await store.record_fee_versions(tx.conn, events)
    changed: dict[str, list[ReplayPosition]] = {key: [] for key in keys}
    # Where each fee stood and, if recording moved it, where it stands now.
    for fee in (*before.positions, *moved):
        changed.setdefault(fee.patient_key, []).append(fee.position)
    for event in events:
        # A registration is answered with the standing on its own visit date, which a re-sent older
        # version may put before the checkpoint, where the tail's ledger cannot answer.
        if isinstance(event, FeeRegistered):
            changed[event.patient_key].append(ReplayPosition(event.visit_date, event.registered_at, event.fee_id))
    starts = {key: start_of(before.checkpoints.get(key), changed[key], today) for key in keys}
    return Recorded(starts, before.checkpoints)


def fee_event_of(delivery: Delivery) -> FeeEvent:
    """A fee registered, corrected or deleted: the versions of a fee, whichever order they come in."""
    match delivery.event(FeeRegistered, FeeCorrected, FeeDeleted):
        case FeeRegistered() | FeeCorrected() | FeeDeleted() as event:
            return event
        case other:  # not reached: `event` returns one of the types asked for
            raise InvalidMessage(f"event_type: {other.event_type} is not a fee event")


async def publish_changes(tx: Transaction, cause: Delivery, changes: PatientChanges) -> None:
    """The events telling what changed for the patient, caused by the patient's last delivery."""
    patient_tx = tx.caused_by(cause.correlation_id, cause.message_id)
    for topic, event in ledger_changes.events_of(changes):
        await patient_tx.emit(topic, changes.patient_key, event)


def registrations_by_patient(fee_events: Sequence[tuple[Delivery, FeeEvent]]) -> dict[str, list[Registration]]:
    """Each patient's registrations in the batch, in the order they came: gathered in one pass, where
    looking them up patient by patient went through the whole batch once per patient."""
    registrations: dict[str, list[Registration]] = {}
    for delivery, event in fee_events:
        if isinstance(event, FeeRegistered):
            registrations.setdefault(event.patient_key, []).append((delivery, event))
    return registrations


async def answer_registrations(tx: Transaction, registrations: Sequence[Registration], changes: PatientChanges) -> None:
    """Each registering system is told what its visit costs and where the patient stands: on its own
    outcome topic when it sent the fee on its own topic. Registration is told every outcome, on the
    internal topic, to answer HTTP requests and re-sends with."""
    result = changes.recomputation
    for delivery, event in registrations:
        outcome = ledger_changes.outcome(event, result, result.region, changes.at).to_json()
        answering = tx.caused_by(delivery.correlation_id, delivery.message_id)
        await answering.send(INTERNAL_FEE_OUTCOMES, event.submission_id, outcome)
        if event.sent_on_system_topic and event.system_id is not None:
            await answering.send(SYSTEM_FEE_OUTCOMES.of(event.system_id), event.submission_id, outcome)
