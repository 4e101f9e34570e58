"""From a recomputation to what the world is told: the contract's events and outcome, and the rows that
record that they were told. Plain Python: the handler emits and the store writes what this returns."""

from __future__ import annotations

import json
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
from protection.free_cards import CardIssued, CardMoved
from protection.ledger import FreeCard, Standing
from protection.overcharges import OverchargeState
from protection.recompute import Recomputation, Status, status_on
from protection.regions import RegionSettings


@dataclass
class LedgerWrites:
    """What a batch of recomputations changes, gathered so that each kind is one statement."""

    charged: list[dict[str, Any]]
    cards_added: list[dict[str, Any]]
    cards_moved: list[dict[str, Any]]
    cards_revoked: list[dict[str, Any]]
    overcharges_found: list[dict[str, Any]]
    overcharges_changed: list[dict[str, Any]]
    undercharges: list[dict[str, Any]]
    statuses: list[dict[str, Any]]

    @classmethod
    def empty(cls) -> LedgerWrites:
        return cls([], [], [], [], [], [], [], [])


def ledger_changes(
    patient_key: str,
    result: Recomputation,
    status: Status,
    published_status: dict[str, Any] | None,
    today: date,
    now: datetime,
    writes: LedgerWrites,
) -> list[tuple[Topic, Event]]:
    """The events for what changed, in the order they happened; the rows recording them go to `writes`."""
    events: list[tuple[Topic, Event]] = []
    writes.charged.extend({"fee_id": fee_id, "amount": amount} for fee_id, amount in result.charged.items())

    for change in result.card_changes:
        if isinstance(change, CardIssued):
            card = change.card
            writes.cards_added.append(
                {
                    "number": change.number,
                    "patient_key": patient_key,
                    **_dates(card),
                    "ceiling": card.ceiling,
                    "issued_at": now,
                }
            )
            events.append(
                (
                    FREE_CARDS,
                    FreeCardIssued(
                        patient_key=patient_key,
                        number=change.number,
                        valid_from=card.valid_from,
                        valid_to=card.valid_to,
                        status=_card_status(card, now, today, now, result.region),
                        period_start=card.period_start,
                        ceiling=card.ceiling,
                    ),
                )
            )
        elif isinstance(change, CardMoved):
            card, before = change.card, change.before
            writes.cards_moved.append({"number": before.number, **_dates(card), "ceiling": card.ceiling})
            events.append(
                (
                    FREE_CARDS,
                    FreeCardMoved(
                        patient_key=patient_key,
                        number=before.number,
                        valid_from=card.valid_from,
                        valid_to=card.valid_to,
                        previous_valid_from=before.valid_from,
                        previous_valid_to=before.valid_to,
                        status=_card_status(card, before.issued_at, today, now, result.region),
                        period_start=card.period_start,
                        ceiling=card.ceiling,
                    ),
                )
            )
        else:
            before = change.before
            writes.cards_revoked.append({"number": before.number, "at": now})
            events.append(
                (
                    FREE_CARDS,
                    FreeCardRevoked(
                        patient_key=patient_key,
                        number=before.number,
                        valid_from=before.valid_from,
                        valid_to=before.valid_to,
                        period_start=before.period_start,
                    ),
                )
            )

    for found in result.overcharge_changes:
        if isinstance(found, overcharges.OverchargeFound):
            fee = found.fee
            row = {
                "overcharge_id": found.overcharge_id,
                "patient_key": patient_key,
                "fee_id": fee.fee_id,
                "care_unit": fee.care_unit,
                "visit_date": fee.visit_date,
                "fee_type": fee.fee_type,
                "paid_amount": fee.paid_amount or 0,
                "amount_due": found.amount_due,
                "amount": found.amount,
                "at": now,
            }
            writes.overcharges_found.append(row)
            events.append(
                (
                    OVERCHARGES,
                    OverchargeFound(
                        overcharge_id=found.overcharge_id,
                        patient_key=patient_key,
                        fee_id=fee.fee_id,
                        care_unit=fee.care_unit,
                        visit_date=fee.visit_date,
                        fee_type=fee.fee_type,
                        paid_amount=fee.paid_amount or 0,
                        amount_due=found.amount_due,
                        amount=found.amount,
                        found_at=now,
                    ),
                )
            )
        else:
            open_one = found.before
            state = OverchargeState.OPEN if found.amount > 0 else OverchargeState.CLOSED
            writes.overcharges_changed.append(
                {
                    "overcharge_id": open_one.overcharge_id,
                    "amount_due": found.amount_due,
                    "amount": found.amount,
                    "state": state.value,
                    "at": now,
                }
            )
            events.append(
                (
                    OVERCHARGES,
                    OverchargeChanged(
                        overcharge_id=open_one.overcharge_id,
                        patient_key=patient_key,
                        fee_id=open_one.fee_id,
                        care_unit=open_one.care_unit,
                        amount_due=found.amount_due,
                        amount=found.amount,
                        changed_at=now,
                    ),
                )
            )

    for short in result.undercharges:
        fee = short.fee
        writes.undercharges.append(
            {
                "fee_id": fee.fee_id,
                "patient_key": patient_key,
                "care_unit": fee.care_unit,
                "amount": short.amount,
                "at": now,
            }
        )
        events.append(
            (
                OVERCHARGES,
                UnderchargeRecorded(
                    patient_key=patient_key,
                    fee_id=fee.fee_id,
                    care_unit=fee.care_unit,
                    visit_date=fee.visit_date,
                    paid_amount=fee.paid_amount or 0,
                    amount_due=short.amount_due,
                    amount=short.amount,
                    recorded_at=now,
                ),
            )
        )

    current = patient_status(patient_key, status, today)
    document = current.model_dump(mode="json", exclude={"as_of"})
    if document != published_status:
        writes.statuses.append({"patient_key": patient_key, "status": json.dumps(document, sort_keys=True), "at": now})
        events.append((PATIENT_STATUS, current))
    return events


def patient_status(patient_key: str, status: Status, today: date) -> PatientStatusChanged:
    standing = status.standing
    return PatientStatusChanged(
        patient_key=patient_key,
        as_of=today,
        status=status.status,
        period_start=standing.period_start,
        ceiling=standing.ceiling,
        sum=standing.sum,
        remaining=standing.remaining,
        free_card=status.free_card_summary(),
    )


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


def _card_status(
    card: FreeCard, issued_at: datetime, today: date, now: datetime, region: RegionSettings
) -> FreeCardStatus:
    # The preliminary window is the one in force on the day the ceiling was reached.
    return free_cards.status_of(card, issued_at, today, now, region.on(card.valid_from).preliminary_window_hours)


def _dates(card: FreeCard) -> dict[str, date]:
    return {"period_start": card.period_start, "valid_from": card.valid_from, "valid_to": card.valid_to}
