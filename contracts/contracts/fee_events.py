"""Fee events: every version of every fee, as registration publishes them on `efrikort.fees.v1`.

Each event carries the whole fee as it now stands, so a consumer never has to merge versions.
Patient events carry the pseudonymous patient key, never the identity number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.envelope import Event
from contracts.integration import FeeSource


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
    sent_on_system_topic: bool = Field(
        default=False,
        description="Sent by the integrated system on its own submissions topic: its outcome goes to the system's "
        "own outcome topic too. Otherwise (HTTP) the outcome stays inside e-frikort.",
    )


class FeeCorrected(Event):
    """A correction (rättelse) of a fee's amount, date or type: the fee as it now stands, a new version.

    The earlier versions are kept by registration; consumers replace what they hold for `fee_id`
    only when `version` is higher than theirs.
    """

    event_type: ClassVar[str] = "FeeCorrected"

    fee_id: UUID
    version: int = Field(ge=2)
    submission_id: str = Field(description="The submission that first registered the fee.")
    system_id: str | None
    patient_key: str
    birth_date: date
    visit_date: date
    care_unit: str
    registered_by: str = Field(description="Who registered the fee in the first place.")
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    source: FeeSource
    receipt_issuer: str | None = None
    registered_at: datetime = Field(description="When the fee was first registered: it breaks ties in the replay.")
    corrected_by: str = Field(description="HSA-ID of the employee who corrected it.")
    corrected_at: datetime
    reason: str | None = None


class FeeDeleted(Event):
    """A fee deleted (makulerad): it no longer counts. Registration keeps every earlier version."""

    event_type: ClassVar[str] = "FeeDeleted"

    fee_id: UUID
    version: int = Field(ge=2)
    patient_key: str
    care_unit: str
    deleted_by: str = Field(description="HSA-ID of the employee who deleted it.")
    deleted_at: datetime
    reason: str | None = None


FEE_EVENTS: tuple[type[Event], ...] = (FeeRegistered, FeeCorrected, FeeDeleted)
