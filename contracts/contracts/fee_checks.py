"""The rules on what a fee says, written once: registration checks a submission and a correction with
them, protection checks a quote (what a visit would cost) with them, so a field is refused alike
wherever it is sent. Plain Python: each check returns the integration contract's rejection reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from contracts.fee_types import FEE_TYPES
from contracts.identity import IdentityNumber, InvalidIdentityNumber
from contracts.integration import MAX_FEE_AMOUNT, RejectionReason


class FeeCheckCode(StrEnum):
    """The rejection codes of these checks, as senders see them in `reasons[].code`."""

    INVALID_PATIENT_ID = "invalid_patient_id"
    FUTURE_VISIT_DATE = "future_visit_date"
    VISIT_DATE_NOT_COVERED = "visit_date_not_covered"
    """Before the first day the region's rules cover."""
    NEGATIVE_AMOUNT = "negative_amount"
    AMOUNT_TOO_LARGE = "amount_too_large"
    """Above `contracts.integration.MAX_FEE_AMOUNT`."""
    PAID_ABOVE_FEE = "paid_above_fee"
    UNKNOWN_FEE_TYPE = "unknown_fee_type"


@dataclass(frozen=True)
class VisitDates:
    """The visit dates a fee may have: from the first day the region's rules cover (before it no ceiling
    is known, so the fee could never be assessed) through today in Swedish time (no visit lies ahead)."""

    first: date
    last: date


def _reason(code: FeeCheckCode, field: str, message: str) -> RejectionReason:
    return RejectionReason(code=code.value, field=field, message=message)


def check_patient_id(patient_id: str, today: date) -> tuple[IdentityNumber | None, list[RejectionReason]]:
    """The patient's identity number, or why it is refused (never repeating it)."""
    try:
        patient = IdentityNumber.parse(patient_id)
    except InvalidIdentityNumber as error:
        return None, [_reason(FeeCheckCode.INVALID_PATIENT_ID, "patient_id", f"identity number {error}")]
    if patient.birth_date > today:
        return patient, [_reason(FeeCheckCode.INVALID_PATIENT_ID, "patient_id", "date of birth lies in the future")]
    return patient, []


def check_fee_values(
    *, visit_date: date, fee_type: str, fee_amount: int, paid_amount: int | None, visits: VisitDates
) -> list[RejectionReason]:
    """The rules on what a fee says, for a new fee, a correction (rättelse) and a quote alike."""
    reasons: list[RejectionReason] = []
    if visit_date > visits.last:
        reasons.append(_reason(FeeCheckCode.FUTURE_VISIT_DATE, "visit_date", "the visit date lies in the future"))
    elif visit_date < visits.first:
        reasons.append(
            _reason(
                FeeCheckCode.VISIT_DATE_NOT_COVERED,
                "visit_date",
                f"the region's rules cover visits from {visits.first.isoformat()} on",
            )
        )
    reasons += _amount_reasons("fee_amount", "fee", fee_amount)
    if paid_amount is not None:
        reasons += _amount_reasons("paid_amount", "paid amount", paid_amount)
        if fee_amount >= 0 and fee_amount < paid_amount <= MAX_FEE_AMOUNT:
            reasons.append(_reason(FeeCheckCode.PAID_ABOVE_FEE, "paid_amount", "paid more than the fee"))
    if fee_type not in FEE_TYPES:
        reasons.append(_reason(FeeCheckCode.UNKNOWN_FEE_TYPE, "fee_type", "not a fee type of the catalogue"))
    return reasons


def _amount_reasons(field: str, what: str, amount: int) -> list[RejectionReason]:
    if amount < 0:
        return [_reason(FeeCheckCode.NEGATIVE_AMOUNT, field, f"the {what} may not be negative")]
    if amount > MAX_FEE_AMOUNT:
        return [_reason(FeeCheckCode.AMOUNT_TOO_LARGE, field, f"the {what} may be at most {MAX_FEE_AMOUNT} kronor")]
    return []
