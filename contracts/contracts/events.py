"""Internal events. Patient events carry the pseudonymous patient key, never the identity number."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.envelope import Event
from contracts.integration import FeeSource, FreeCardStatus


class FeeRegistered(Event):
    """A fee as registered (avgift), one version of it. Published by registration."""

    event_type: ClassVar[str] = "FeeRegistered"

    fee_id: UUID
    version: int = Field(ge=1, description="1 for a new fee; each correction adds one.")
    submission_id: str
    system_id: str | None = Field(description="Integrated system that sent it; None for the web application.")
    patient_key: str = Field(description="Keyed hash of the identity number (pseudonym).")
    birth_date: date = Field(description="From the identity number: the age rules need it.")
    visit_date: date
    care_unit: str
    registered_by: str
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    source: FeeSource
    receipt_issuer: str | None = None
    registered_at: datetime


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


ALL_EVENTS: tuple[type[Event], ...] = (FeeRegistered, FreeCardIssued)
