"""From a recomputation to what the world is told: what changed for a patient, the contract's events
that tell it, and the outcome a registering system is answered with. Plain Python: the handler emits
these events and the store records the same changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.envelope import Event
from contracts.events import (
    FeeRegistered,
    FreeCardIssued,
    FreeCardMoved,
    FreeCardRevoked,
    OverchargeChanged,
    OverchargeFound,
    PatientStatusChanged,
    UnderchargeRecorded,
)
from contracts.integration import FeeOutcome, FreeCardStatus, FreeCardSummary, OutcomeStatus, ProtectionSummary
from contracts.topics import FREE_CARDS, OVERCHARGES, PATIENT_STATUS, Topic
from protection import free_cards, overcharges
from protection.free_cards import CardChange, CardIssued, CardMoved, CardRevoked
from protection.ledger import Checkpoint, FreeCard, Standing
from protection.overcharges import OverchargeChange
from protection.recompute import Recomputation, Status, status_on
from protection.regions import RegionSettings

TopicEvent = tuple[Topic, Event]


@dataclass(frozen=True)
class PatientChanges:
    """What recomputing one patient's ledger changed: the store records it and the events tell it."""

    patient_key: str
    recomputation: Recomputation
    """Its typed changes: charges, free cards, overcharges, undercharges."""
    status: PatientStatusChanged | None
    """The patient's status today, when it differs from the one last published (None: unchanged)."""
    checkpoint_changed: bool
    """The ledger's checkpoint is not the one stored: it is stored, or forgotten when the replay found none."""
    today: date
    at: datetime
    """When it was recomputed: a new card is issued, and every change recorded, at this instant."""


def patient_changes(
    patient_key: str,
    result: Recomputation,
    published_status: dict[str, Any] | None,
    stored_checkpoint: Checkpoint | None,
    today: date,
    now: datetime,
) -> PatientChanges:
    """What changed for the patient, the status and the checkpoint included only when they are not the
    ones last published and stored (most fees leave a checkpoint where it stands, or find none)."""
    status = status_on(today, result.ledger, result.cards, result.region, now)
    current = patient_status(patient_key, status, today)
    changed = current if status_document(current) != published_status else None
    return PatientChanges(patient_key, result, changed, result.ledger.checkpoint != stored_checkpoint, today, now)


def status_document(status: PatientStatusChanged) -> dict[str, Any]:
    """The status as recorded to compare with the next one: without the day it was computed on."""
    return status.model_dump(mode="json", exclude={"as_of"})


def events_of(changes: PatientChanges) -> list[TopicEvent]:
    """The events that tell what changed, in the order it happened: free cards, overcharges,
    undercharges, then where the patient now stands."""
    result = changes.recomputation
    return [
        *(card_event(changes, change) for change in result.card_changes),
        *(overcharge_event(changes.patient_key, change, changes.at) for change in result.overcharge_changes),
        *(undercharge_event(changes.patient_key, short, changes.at) for short in result.undercharges),
        *([(PATIENT_STATUS, changes.status)] if changes.status is not None else []),
    ]


def card_event(changes: PatientChanges, change: CardChange) -> TopicEvent:
    """A free card issued, moved to other dates (keeping its number), or revoked."""
    key, region, today, now = changes.patient_key, changes.recomputation.region, changes.today, changes.at
    match change:
        case CardIssued(number=number, card=card):
            return FREE_CARDS, FreeCardIssued(
                patient_key=key,
                number=number,
                valid_from=card.valid_from,
                valid_to=card.valid_to,
                status=card_status(card, now, today, now, region),
                period_start=card.period_start,
                ceiling=card.ceiling,
            )
        case CardMoved(before=before, card=card):
            return FREE_CARDS, FreeCardMoved(
                patient_key=key,
                number=before.number,
                valid_from=card.valid_from,
                valid_to=card.valid_to,
                previous_valid_from=before.valid_from,
                previous_valid_to=before.valid_to,
                status=card_status(card, before.issued_at, today, now, region),
                period_start=card.period_start,
                ceiling=card.ceiling,
            )
        case CardRevoked(before=before):
            return FREE_CARDS, FreeCardRevoked(
                patient_key=key,
                number=before.number,
                valid_from=before.valid_from,
                valid_to=before.valid_to,
                period_start=before.period_start,
            )


def overcharge_event(patient_key: str, change: OverchargeChange, now: datetime) -> TopicEvent:
    """An overcharge found, or one still open that now owes another amount (0: closed)."""
    match change:
        case overcharges.OverchargeFound(fee=fee):
            return OVERCHARGES, OverchargeFound(
                overcharge_id=change.overcharge_id,
                patient_key=patient_key,
                fee_id=fee.fee_id,
                care_unit=fee.care_unit,
                visit_date=fee.visit_date,
                fee_type=fee.fee_type,
                paid_amount=fee.paid_amount or 0,
                amount_due=change.amount_due,
                amount=change.amount,
                found_at=now,
            )
        case overcharges.OverchargeChanged(before=open_one):
            return OVERCHARGES, OverchargeChanged(
                overcharge_id=open_one.overcharge_id,
                patient_key=patient_key,
                fee_id=open_one.fee_id,
                care_unit=open_one.care_unit,
                amount_due=change.amount_due,
                amount=change.amount,
                changed_at=now,
            )


def undercharge_event(patient_key: str, short: overcharges.UnderchargeRecorded, now: datetime) -> TopicEvent:
    """A fee the patient paid less for than is now due: recorded, never billed."""
    fee = short.fee
    return OVERCHARGES, UnderchargeRecorded(
        patient_key=patient_key,
        fee_id=fee.fee_id,
        care_unit=fee.care_unit,
        visit_date=fee.visit_date,
        paid_amount=fee.paid_amount or 0,
        amount_due=short.amount_due,
        amount=short.amount,
        recorded_at=now,
    )


def patient_status(patient_key: str, status: Status, today: date) -> PatientStatusChanged:
    return PatientStatusChanged(patient_key=patient_key, **status_on_day(status, today))


def status_on_day(status: Status, day: date) -> dict[str, Any]:
    """Where the patient stands on `day`: the fields the status event and the HTTP status answer share."""
    standing = status.standing
    return {
        "as_of": day,
        "status": status.status,
        "period_start": standing.period_start,
        "ceiling": standing.ceiling,
        "sum": standing.sum,
        "remaining": standing.remaining,
        "free_card": status.free_card_summary(),
    }


def summary(standing: Standing, card: FreeCardSummary | None) -> ProtectionSummary:
    return ProtectionSummary(
        period_start=standing.period_start,
        ceiling=standing.ceiling,
        sum=standing.sum,
        remaining=standing.remaining,
        free_card=card,
    )


def outcome(event: FeeRegistered, result: Recomputation, region: RegionSettings, now: datetime) -> FeeOutcome:
    """What the registering system is told: what this visit costs, and where the patient stands."""
    assessment = result.ledger.assessments.get(event.fee_id)
    status = status_on(event.visit_date, result.ledger, result.cards, region, now)
    return FeeOutcome(
        submission_id=event.submission_id,
        status=OutcomeStatus.ACCEPTED,
        fee_id=str(event.fee_id),
        # A fee already deleted again when its registration is answered costs nothing.
        amount_due=assessment.amount_due if assessment is not None else 0,
        counted_amount=assessment.counted if assessment is not None else 0,
        protection=summary(status.standing, status.free_card_summary()),
    )


def card_status(
    card: FreeCard, issued_at: datetime, today: date, now: datetime, region: RegionSettings
) -> FreeCardStatus:
    # The preliminary window is the one in force on the day the ceiling was reached.
    return free_cards.status_of(card, issued_at, today, now, region.on(card.valid_from).preliminary_window_hours)
