"""The rules on what a fee says, written once: registration checks a submission and a correction with
them, protection checks a quote (what a visit would cost) with them, so a field is refused alike
wherever it is sent. Plain Python: each check returns the integration contract's rejection reasons."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from contracts.fee_types import FEE_TYPES
from contracts.identity import IdentityNumber, InvalidIdentityNumber
from contracts.integration import RejectionReason


class FeeCheckCode(StrEnum):
    """The rejection codes of these checks, as senders see them in `reasons[].code`."""

    INVALID_PATIENT_ID = "invalid_patient_id"
    FUTURE_VISIT_DATE = "future_visit_date"
    NEGATIVE_AMOUNT = "negative_amount"
    PAID_ABOVE_FEE = "paid_above_fee"
    UNKNOWN_FEE_TYPE = "unknown_fee_type"


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
    *, visit_date: date, fee_type: str, fee_amount: int, paid_amount: int | None, today: date
) -> list[RejectionReason]:
    """The rules on what a fee says, for a new fee, a correction (rättelse) and a quote alike."""
    reasons: list[RejectionReason] = []
    if visit_date > today:
        reasons.append(_reason(FeeCheckCode.FUTURE_VISIT_DATE, "visit_date", "the visit date lies in the future"))
    if fee_amount < 0:
        reasons.append(_reason(FeeCheckCode.NEGATIVE_AMOUNT, "fee_amount", "the fee may not be negative"))
    if paid_amount is not None:
        if paid_amount < 0:
            reasons.append(_reason(FeeCheckCode.NEGATIVE_AMOUNT, "paid_amount", "the paid amount may not be negative"))
        elif paid_amount > fee_amount >= 0:
            reasons.append(_reason(FeeCheckCode.PAID_ABOVE_FEE, "paid_amount", "paid more than the fee"))
    if fee_type not in FEE_TYPES:
        reasons.append(_reason(FeeCheckCode.UNKNOWN_FEE_TYPE, "fee_type", "not a fee type of the catalogue"))
    return reasons
