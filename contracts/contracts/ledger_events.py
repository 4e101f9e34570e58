"""Ledger events: what protection publishes when recomputing a patient's ledger changes something.

Free cards go on `efrikort.free-cards.v1`, overcharges and undercharges on `efrikort.overcharges.v1`,
and where each patient stands on the compacted `efrikort.patient-status.v1`. All are keyed by the
pseudonymous patient key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.envelope import Event
from contracts.integration import FreeCardStatus, FreeCardSummary


class FreeCardIssued(Event):
    """The patient reached the ceiling (högkostnadstak) and holds a free card (frikort)."""

    event_type: ClassVar[str] = "FreeCardIssued"

    patient_key: str
    number: str
    valid_from: date
    valid_to: date
    status: FreeCardStatus
    period_start: date
    ceiling: int


class FreeCardMoved(Event):
    """A late or corrected fee changed when the free card starts (or its period): same number, new dates."""

    event_type: ClassVar[str] = "FreeCardMoved"

    patient_key: str
    number: str = Field(description="Unchanged: a moved card keeps its number.")
    valid_from: date
    valid_to: date
    previous_valid_from: date
    previous_valid_to: date
    status: FreeCardStatus
    period_start: date
    ceiling: int


class FreeCardRevoked(Event):
    """A correction or deletion means the ceiling was not reached after all: the card no longer applies."""

    event_type: ClassVar[str] = "FreeCardRevoked"

    patient_key: str
    number: str
    valid_from: date = Field(description="The dates the card had until it was revoked.")
    valid_to: date
    period_start: date


class OverchargeFound(Event):
    """The patient paid more for a fee than is now due (for example a late receipt shows the free card
    applied). The unit that charged it owes the refund; it stays open until the unit marks it refunded."""

    event_type: ClassVar[str] = "OverchargeFound"

    overcharge_id: UUID
    patient_key: str
    fee_id: UUID
    care_unit: str = Field(description="HSA-ID of the unit that charged the fee and owes the refund.")
    visit_date: date
    fee_type: str
    paid_amount: int
    amount_due: int
    amount: int = Field(gt=0, description="What the unit owes the patient: paid_amount - amount_due.")
    found_at: datetime


class OverchargeChanged(Event):
    """A later change altered an open overcharge: a new amount, or (amount 0) none is owed any more."""

    event_type: ClassVar[str] = "OverchargeChanged"

    overcharge_id: UUID
    patient_key: str
    fee_id: UUID
    care_unit: str
    amount_due: int
    amount: int = Field(ge=0, description="What is owed now; 0 closes the overcharge without a refund.")
    changed_at: datetime


class OverchargeRefunded(Event):
    """The unit marked the overcharge refunded (återbetald)."""

    event_type: ClassVar[str] = "OverchargeRefunded"

    overcharge_id: UUID
    patient_key: str
    fee_id: UUID
    care_unit: str
    amount: int
    refunded_by: str = Field(description="HSA-ID of the employee who marked it.")
    refunded_at: datetime


class UnderchargeRecorded(Event):
    """The patient paid less than is now due. Recorded for follow-up, never billed to the patient."""

    event_type: ClassVar[str] = "UnderchargeRecorded"

    patient_key: str
    fee_id: UUID
    care_unit: str
    visit_date: date
    paid_amount: int
    amount_due: int
    amount: int = Field(gt=0, description="amount_due - paid_amount")
    recorded_at: datetime


class PatientStatusChanged(Event):
    """Where the patient stands today, after a change. The topic is compacted: the latest per patient."""

    event_type: ClassVar[str] = "PatientStatusChanged"

    patient_key: str
    as_of: date
    status: FreeCardStatus
    period_start: date | None
    ceiling: int
    sum: int
    remaining: int
    free_card: FreeCardSummary | None = None


FREE_CARD_EVENTS: tuple[type[Event], ...] = (FreeCardIssued, FreeCardMoved, FreeCardRevoked)
OVERCHARGE_EVENTS: tuple[type[Event], ...] = (
    OverchargeFound,
    OverchargeChanged,
    OverchargeRefunded,
    UnderchargeRecorded,
)
