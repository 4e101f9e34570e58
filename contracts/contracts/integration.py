"""The integration contract: what journal and cash systems send and receive.

The field names are fixed by the contract in DESIGN.md; outside systems depend on them, so
nothing here may be renamed or made stricter within a major version.
"""

from __future__ import annotations

import json
import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr


def _written_as_iso_date(value: object) -> object:
    # pydantic would also take a Unix timestamp or a datetime; the contract says YYYY-MM-DD.
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_written_as_iso_date)]


class FeeSource(StrEnum):
    """Where the fee comes from."""

    VISIT = "visit"
    RECEIPT = "receipt"
    """A paper receipt (kvitto) from another region or a non-connected provider."""


class FeeSubmission(BaseModel):
    """A fee registration (avgiftsregistrering) sent by an integrated system.

    This model checks the shape only. Whether the identity number, the unit or the employee
    are acceptable is decided by the registration service's rules.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    submission_id: StrictStr = Field(
        min_length=1, max_length=100, description="Chosen by the sender; re-sending it is harmless."
    )
    system_id: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="HSA-ID of the integrated system. May be left out: the system is the topic it is sent on "
        "(over HTTP, the system the caller comes through); when given, it must be that system.",
    )
    patient_id: StrictStr = Field(
        max_length=20, description="Personnummer or samordningsnummer, YYYYMMDD-NNNN or YYYYMMDDNNNN."
    )
    visit_date: IsoDate = Field(description="YYYY-MM-DD, in Swedish time.")
    care_unit: StrictStr = Field(min_length=1, max_length=64, description="HSA-ID of the care unit (vårdenhet).")
    registered_by: StrictStr = Field(
        min_length=1, max_length=64, description="HSA-ID of the employee (medarbetare) who registered it."
    )
    fee_type: StrictStr = Field(min_length=1, max_length=64)
    fee_amount: StrictInt = Field(description="Tariff fee in whole kronor.")
    paid_amount: StrictInt | None = Field(default=None, description="What the patient paid; absent: pays what is due.")
    source: FeeSource = FeeSource.VISIT
    receipt_issuer: StrictStr | None = Field(
        default=None, max_length=200, description="Who issued the receipt, when source is receipt."
    )


class OutcomeStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class FreeCardStatus(StrEnum):
    """Status of the high-cost protection, as the source system names it."""

    BELOW_LIMIT = "below_limit"
    """ej uppnått"""
    PRELIMINARY = "preliminary"
    """reached, still editable for the region's window"""
    FINAL = "final"
    """uppnått"""
    EXPIRED = "expired"
    """utgånget"""


class FreeCardSummary(BaseModel):
    """A free card (frikort) as reported back to the sender."""

    model_config = ConfigDict(frozen=True)

    number: str
    valid_from: date
    valid_to: date
    status: FreeCardStatus


class ProtectionSummary(BaseModel):
    """Where the patient stands in the high-cost protection (högkostnadsskydd)."""

    model_config = ConfigDict(frozen=True)

    period_start: date | None = None
    ceiling: int
    sum: int
    remaining: int
    free_card: FreeCardSummary | None = None


class RejectionReason(BaseModel):
    """Why a submission was rejected: a machine-readable code, the field, and words for people."""

    model_config = ConfigDict(frozen=True)

    code: str
    field: str | None = None
    message: str


class FeeOutcome(BaseModel):
    """The one answer every submission gets, keyed by `submission_id`."""

    model_config = ConfigDict(frozen=True)

    submission_id: str
    status: OutcomeStatus
    fee_id: str | None = None
    amount_due: int | None = None
    counted_amount: int | None = None
    protection: ProtectionSummary | None = None
    reasons: list[RejectionReason] | None = None

    @classmethod
    def rejected(cls, submission_id: str, reasons: list[RejectionReason]) -> FeeOutcome:
        return cls(submission_id=submission_id, status=OutcomeStatus.REJECTED, reasons=reasons)

    def to_json(self) -> bytes:
        """Serialise as the contract shows it: top-level values that do not apply (`reasons` of an
        accepted fee, the amounts of a rejected one) are left out rather than null."""
        document = {k: v for k, v in self.model_dump(mode="json").items() if v is not None}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


INTEGRATION_CONTRACT_MAJOR = 2
"""The integration contract's major version. 1: every system on the shared `efrikort.fee-submissions.v1`
and `efrikort.fee-outcomes.v1`, the system whatever the body said. 2: each system on its own topics
(`contracts.topics.SYSTEM_TOPICS`), the system the topic it writes to, `system_id` optional."""

MAX_SUBMISSION_BYTES = 16 * 1024
"""Larger submissions are rejected unread: no real fee needs more."""
