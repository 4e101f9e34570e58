"""The desk's form rules, plain Python: each field parsed and checked, or the reason it cannot be, by key.

A reason is a message key (`error.<field>.<what>`), said in the person's language on the page, next to the
field it is about; it never repeats what was typed (it may be an identity number).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from contracts.clock import today_in_sweden
from contracts.identity import IdentityNumber, InvalidIdentityNumber
from contracts.integration import MAX_FEE_AMOUNT, MAX_STRING_LENGTH
from desk.services_client import Correction, FeeSubmission

MAX_REASON = 500

SOURCES = ("visit", "receipt")

Form = Mapping[str, str]
"""A submitted form's fields, as text."""


class Invalid(Exception):
    """The form cannot be used: for each field at fault, the key of what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def patient_id(form: Form) -> str:
    """The identity number typed or pasted (with or without hyphen, spaces around it), as its 12 digits."""
    text = _text(form, "patient_id").replace(" ", "")
    if not text:
        raise Invalid({"patient_id": "error.patient_id.missing"})
    try:
        return IdentityNumber.parse(text).digits
    except InvalidIdentityNumber:
        raise Invalid({"patient_id": "error.patient_id.invalid"}) from None


def _amount(form: Form, name: str, errors: dict[str, str], *, required: bool) -> int | None:
    text = _text(form, name).replace(" ", "").removesuffix("kr")
    if not text:
        if required:
            errors[name] = f"error.{name}.missing"
        return None
    if not text.isascii() or not text.isdigit() or int(text) > MAX_FEE_AMOUNT:
        errors[name] = f"error.{name}.invalid"
        return None
    return int(text)


def _visit_date(form: Form, errors: dict[str, str]) -> date | None:
    text = _text(form, "visit_date")
    if not text:
        errors["visit_date"] = "error.visit_date.missing"
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors["visit_date"] = "error.visit_date.invalid"
        return None
    if day > today_in_sweden():
        errors["visit_date"] = "error.visit_date.future"
        return None
    return day


def _fee_type(form: Form, known: set[str], errors: dict[str, str]) -> str:
    code = _text(form, "fee_type")
    if not code:
        errors["fee_type"] = "error.fee_type.missing"
    elif code not in known:
        errors["fee_type"] = "error.fee_type.invalid"
    return code


def fee(form: Form, patient: str, fee_types: set[str]) -> FeeSubmission:
    """A fee to quote or register: a visit, or a paper receipt with its issuer."""
    errors: dict[str, str] = {}
    visit_date = _visit_date(form, errors)
    fee_type = _fee_type(form, fee_types, errors)
    fee_amount = _amount(form, "fee_amount", errors, required=True)
    paid_amount = _amount(form, "paid_amount", errors, required=False)
    source = _text(form, "source") or "visit"
    if source not in SOURCES:
        errors["source"] = "error.source.invalid"
    issuer = _text(form, "receipt_issuer") or None
    if source == "receipt" and issuer is None:
        errors["receipt_issuer"] = "error.receipt_issuer.missing"
    elif issuer is not None and len(issuer) > MAX_STRING_LENGTH:
        errors["receipt_issuer"] = "error.receipt_issuer.too_long"
    if errors or visit_date is None or fee_amount is None:
        raise Invalid(errors)
    return FeeSubmission(
        patient_id=patient,
        visit_date=visit_date,
        fee_type=fee_type,
        fee_amount=fee_amount,
        paid_amount=paid_amount,
        source=source,
        receipt_issuer=issuer if source == "receipt" else None,
    )


def reason(form: Form, errors: dict[str, str]) -> str:
    """Why a fee is corrected or deleted: required, for the fee's history."""
    text = _text(form, "reason")
    if not text:
        errors["reason"] = "error.reason.missing"
    elif len(text) > MAX_REASON or not text.isprintable():
        errors["reason"] = "error.reason.invalid"
    return text


def correction(form: Form, fee_types: set[str]) -> Correction:
    errors: dict[str, str] = {}
    visit_date = _visit_date(form, errors)
    fee_type = _fee_type(form, fee_types, errors)
    fee_amount = _amount(form, "fee_amount", errors, required=True)
    paid_amount = _amount(form, "paid_amount", errors, required=False)
    why = reason(form, errors)
    if errors or visit_date is None or fee_amount is None:
        raise Invalid(errors)
    return Correction(visit_date, fee_type, fee_amount, paid_amount, why)


def deletion_reason(form: Form) -> str:
    errors: dict[str, str] = {}
    why = reason(form, errors)
    if errors:
        raise Invalid(errors)
    return why


@dataclass(frozen=True)
class FeeRef:
    """Which fee a form is about, and the version the person saw (the change is refused if it moved on)."""

    fee_id: uuid.UUID
    version: int


def version(form: Form) -> int:
    text = _text(form, "version")
    if not text.isascii() or not text.isdigit():
        raise Invalid({"version": "error.version.invalid"})
    return int(text)


def care_unit(form: Form, allowed: set[str]) -> str:
    """The unit picked, among those the person holds a grant at."""
    unit = _text(form, "care_unit")
    if unit not in allowed:
        raise Invalid({"care_unit": "error.care_unit.missing" if not unit else "error.care_unit.invalid"})
    return unit
