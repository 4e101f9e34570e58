"""The integration contract: what journal and cash systems send and receive.

The field names are fixed by the contract in DESIGN.md; outside systems depend on them, so
nothing here may be renamed or made stricter within `v1`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


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

    submission_id: StrictStr = Field(min_length=1, max_length=100,
                                     description="Chosen by the sender; re-sending it is harmless.")
    system_id: StrictStr = Field(min_length=1, max_length=64, description="HSA-ID of the integrated system.")
    patient_id: StrictStr = Field(description="Personnummer or samordningsnummer, YYYYMMDD-NNNN or YYYYMMDDNNNN.")
    visit_date: date
    care_unit: StrictStr = Field(min_length=1, max_length=64, description="HSA-ID of the care unit (vårdenhet).")
    registered_by: StrictStr = Field(min_length=1, max_length=64,
                                     description="HSA-ID of the employee (medarbetare) who registered it.")
    fee_type: StrictStr = Field(min_length=1, max_length=64)
    fee_amount: StrictInt = Field(description="Tariff fee in whole kronor.")
    paid_amount: StrictInt | None = Field(default=None,
                                          description="What the patient paid; absent: pays what is due.")
    source: FeeSource = FeeSource.VISIT
    receipt_issuer: StrictStr | None = Field(default=None, max_length=200,
                                             description="Who issued the receipt, when source is receipt.")


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

    period_start: date | None
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
        """Serialise as the contract shows it: absent values are left out rather than null."""
        return self.model_dump_json(exclude_none=True).encode()


# Kept beside the models so that the contract document and the code name the same limit.
MAX_SUBMISSION_BYTES = 16 * 1024
SubmissionStatus = Literal["accepted", "rejected"]
