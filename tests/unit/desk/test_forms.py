"""The desk's form rules: what a person types becomes a fee or a correction, or the key of what to fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.clock import today_in_sweden
from desk import forms

TYPES = {"doctor_visit", "missed_appointment"}
NUMBER = "19850412-1230"


def test_an_identity_number_is_taken_with_or_without_hyphen_and_spaces_around() -> None:
    assert forms.patient_id({"patient_id": NUMBER}) == "198504121230"
    assert forms.patient_id({"patient_id": " 198504121230 "}) == "198504121230"
    assert forms.patient_id({"patient_id": "19850412 1230"}) == "198504121230"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "error.patient_id.missing"),
        ("19850412-1231", "error.patient_id.invalid"),
        ("1985", "error.patient_id.invalid"),
    ],
)
def test_a_bad_identity_number_is_named_without_repeating_it(typed: str, key: str) -> None:
    with pytest.raises(forms.Invalid) as refused:
        forms.patient_id({"patient_id": typed})
    assert refused.value.errors == {"patient_id": key}
    assert typed.strip() == "" or typed not in str(refused.value)


def fee_form(**changes: str) -> dict[str, str]:
    return {
        "visit_date": today_in_sweden().isoformat(),
        "fee_type": "doctor_visit",
        "fee_amount": "300",
        "paid_amount": "",
        "source": "visit",
        "receipt_issuer": "",
    } | changes


def test_a_visit_fee_is_read_from_the_form() -> None:
    fee = forms.fee(fee_form(fee_amount=" 300 kr"), "198504121230", TYPES)
    assert (fee.fee_type, fee.fee_amount, fee.paid_amount, fee.source, fee.receipt_issuer) == (
        "doctor_visit",
        300,
        None,
        "visit",
        None,
    )


def test_a_receipt_needs_its_issuer_and_a_visit_drops_one() -> None:
    with pytest.raises(forms.Invalid) as refused:
        forms.fee(fee_form(source="receipt"), "198504121230", TYPES)
    assert refused.value.errors == {"receipt_issuer": "error.receipt_issuer.missing"}
    receipt = forms.fee(fee_form(source="receipt", receipt_issuer="Region Annan"), "198504121230", TYPES)
    assert receipt.receipt_issuer == "Region Annan"
    visit = forms.fee(fee_form(receipt_issuer="Region Annan"), "198504121230", TYPES)
    assert visit.receipt_issuer is None


def test_every_field_at_fault_is_named_at_once() -> None:
    tomorrow = (today_in_sweden() + timedelta(days=1)).isoformat()
    with pytest.raises(forms.Invalid) as refused:
        forms.fee(
            fee_form(visit_date=tomorrow, fee_type="spa", fee_amount="-5", paid_amount="1e3", source="fax"),
            "198504121230",
            TYPES,
        )
    assert refused.value.errors == {
        "visit_date": "error.visit_date.future",
        "fee_type": "error.fee_type.invalid",
        "fee_amount": "error.fee_amount.invalid",
        "paid_amount": "error.paid_amount.invalid",
        "source": "error.source.invalid",
    }


@pytest.mark.parametrize("amount", ["١٠٠", "100000000", "3.5", "abc"])
def test_an_amount_is_whole_kronor_in_ascii_digits_within_reason(amount: str) -> None:
    with pytest.raises(forms.Invalid) as refused:
        forms.fee(fee_form(fee_amount=amount), "198504121230", TYPES)
    assert refused.value.errors == {"fee_amount": "error.fee_amount.invalid"}


def test_a_correction_and_a_deletion_need_a_reason() -> None:
    with pytest.raises(forms.Invalid) as refused:
        forms.correction(fee_form(), TYPES)
    assert refused.value.errors == {"reason": "error.reason.missing"}
    assert forms.correction(fee_form(reason="fel belopp"), TYPES).reason == "fel belopp"
    with pytest.raises(forms.Invalid):
        forms.deletion_reason({"reason": "  "})
    with pytest.raises(forms.Invalid):
        forms.deletion_reason({"reason": "rad\x00"})


def test_a_unit_is_picked_among_the_persons_grants() -> None:
    assert forms.care_unit({"care_unit": "U1"}, {"U1"}) == "U1"
    with pytest.raises(forms.Invalid) as refused:
        forms.care_unit({"care_unit": "U9"}, {"U1"})
    assert refused.value.errors == {"care_unit": "error.care_unit.invalid"}
