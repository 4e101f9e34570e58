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

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from contracts.text import no_control_characters

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
"""ASCII digits only: `\\d` would also take the digits of other scripts (Arabic-Indic, fullwidth, ...)."""


def _written_as_iso_date(value: object) -> object:
    # pydantic would also take a Unix timestamp or a datetime; the contract says YYYY-MM-DD.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_written_as_iso_date)]

Text = Annotated[StrictStr, AfterValidator(no_control_characters)]
"""A string field of the contract: printable characters only (no NUL, no line break, no lone surrogate)."""


MAX_SUBMISSION_BYTES = 16 * 1024
"""Larger submissions are rejected unread: no real fee needs more."""

MAX_NESTING_DEPTH = 8
"""How deeply arrays and objects may nest in a message, counted before it is parsed (a pre-scan over its
bytes), so that no parser recurses further: a submission is one flat object (depth 1); deeper messages are
rejected `too_deep` unparsed. Python's `json` and pydantic's parser give up (RecursionError, or a refusal)
only in the hundreds or thousands, and 16 KiB holds 8 192 opening brackets."""

MAX_FEE_AMOUNT = 100_000
"""The largest `fee_amount` and `paid_amount`, in whole kronor; above it a submission is rejected
`amount_too_large`. The ceiling of the high-cost protection is 1 450 kr (2025), an outpatient visit's fee
a few hundred; the fees that do not count (a certificate, occupational health care, private care without
an agreement) run to thousands at most. A hundred thousand is far above any single fee yet more than
twenty thousand times below PostgreSQL's `integer` (2 147 483 647), the type every amount is stored in,
so neither an amount nor what protection derives from it (a sum up to the ceiling, an overcharge) can
leave that type."""

MAX_STRING_LENGTH = 200
"""No string of a submission is longer (`receipt_issuer`; ids 100, HSA-IDs and fee types 64, identity
numbers 20): each field says its own bound in the schema."""


def nested_deeper_than(raw: bytes, limit: int = MAX_NESTING_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit` in `raw`, read as JSON would be (brackets inside
    strings do not count), without parsing it. Bytes that are not JSON are counted all the same: the
    parser refuses them later, no deeper than counted here."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # every real submission: one object, no arrays
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


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

    submission_id: Text = Field(
        min_length=1, max_length=100, description="Chosen by the sender; re-sending it is harmless."
    )
    system_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="HSA-ID of the integrated system. May be left out: the system is the topic it is sent on "
        "(over HTTP, the system the caller comes through); when given, it must be that system.",
    )
    patient_id: Text = Field(
        max_length=20, description="Personnummer or samordningsnummer, YYYYMMDD-NNNN or YYYYMMDDNNNN."
    )
    visit_date: IsoDate = Field(description="YYYY-MM-DD, in Swedish time.")
    care_unit: Text = Field(min_length=1, max_length=64, description="HSA-ID of the care unit (vårdenhet).")
    registered_by: Text = Field(
        min_length=1, max_length=64, description="HSA-ID of the employee (medarbetare) who registered it."
    )
    fee_type: Text = Field(min_length=1, max_length=64)
    fee_amount: StrictInt = Field(description=f"Tariff fee in whole kronor, 0 to {MAX_FEE_AMOUNT}.")
    paid_amount: StrictInt | None = Field(
        default=None, description=f"What the patient paid, 0 to {MAX_FEE_AMOUNT}; absent: pays what is due."
    )
    source: FeeSource = FeeSource.VISIT
    receipt_issuer: Text | None = Field(
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
        return _COMPACT.encode(document).encode()


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""Made once: `json.dumps` with options makes an encoder for every call, and every outcome is written so."""


INTEGRATION_CONTRACT_MAJOR = 2
"""The integration contract's major version. 1: every system on the shared `efrikort.fee-submissions.v1`
and `efrikort.fee-outcomes.v1`, the system whatever the body said. 2: each system on its own topics
(`contracts.topics.SYSTEM_TOPICS`), the system the topic it writes to, `system_id` optional."""
