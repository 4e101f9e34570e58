"""What a fee submission must satisfy before it is registered, each refusal with its code and field."""

import json
from datetime import date

import pytest

from contracts.integration import MAX_SUBMISSION_BYTES
from registration.submission_rules import Accepted, Rejected, RejectionCode, VisitDates, check_submission
from tests.submissions import submission

TODAY = date(2026, 11, 22)
VISITS = VisitDates(date(2019, 1, 1), TODAY)


def check(**overrides: object) -> Accepted | Rejected:
    return check_submission(json.dumps(submission(**overrides)).encode(), VISITS)


def codes(result: Accepted | Rejected) -> list[tuple[str, str | None]]:
    assert isinstance(result, Rejected), result
    return [(r.code, r.field) for r in result.reasons]


def test_a_valid_submission_is_accepted_with_the_patients_birth_date() -> None:
    result = check()
    assert isinstance(result, Accepted)
    assert result.patient.birth_date == date(1985, 4, 12)


def test_paid_amount_may_be_absent() -> None:
    document = submission()
    del document["paid_amount"]
    assert isinstance(check_submission(json.dumps(document).encode(), VISITS), Accepted)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"patient_id": "19850412-1231"}, [(RejectionCode.INVALID_PATIENT_ID, "patient_id")]),
        ({"visit_date": "2026-11-23"}, [(RejectionCode.FUTURE_VISIT_DATE, "visit_date")]),
        ({"visit_date": "2026-02-30"}, [(RejectionCode.INVALID_VALUE, "visit_date")]),
        ({"fee_amount": -1}, [(RejectionCode.NEGATIVE_AMOUNT, "fee_amount")]),
        ({"paid_amount": -1}, [(RejectionCode.NEGATIVE_AMOUNT, "paid_amount")]),
        ({"fee_amount": 100, "paid_amount": 200}, [(RejectionCode.PAID_ABOVE_FEE, "paid_amount")]),
        ({"fee_amount": "300"}, [(RejectionCode.WRONG_TYPE, "fee_amount")]),
        ({"fee_amount": 300.5}, [(RejectionCode.WRONG_TYPE, "fee_amount")]),
        ({"fee_type": "massage"}, [(RejectionCode.UNKNOWN_FEE_TYPE, "fee_type")]),
        ({"source": "fax"}, [(RejectionCode.INVALID_VALUE, "source")]),
        ({"source": "receipt"}, [(RejectionCode.MISSING_RECEIPT_ISSUER, "receipt_issuer")]),
        ({"colour": "blue"}, [(RejectionCode.UNKNOWN_FIELD, "colour")]),
    ],
)
def test_each_problem_is_refused_with_its_code_and_field(overrides: dict[str, object], expected: list) -> None:
    assert codes(check(**overrides)) == [(code.value, field) for code, field in expected]


def test_every_problem_is_reported_not_just_the_first() -> None:
    result = check(visit_date="2099-01-01", fee_type="massage", fee_amount=-5, paid_amount=None)
    assert {code for code, _ in codes(result)} == {"future_visit_date", "unknown_fee_type", "negative_amount"}


def test_a_missing_field_is_named() -> None:
    document = submission()
    del document["care_unit"]
    assert codes(check_submission(json.dumps(document).encode(), VISITS)) == [("missing_field", "care_unit")]


def test_text_that_is_not_json_is_answered_when_its_submission_id_can_be_read() -> None:
    result = check_submission(b'{"submission_id": "abc-1", "fee_amount": 3', VISITS)
    assert isinstance(result, Rejected)
    assert result.submission_id == "abc-1"
    assert codes(result) == [("malformed_json", None)]


def test_text_without_a_readable_submission_id_has_nobody_to_answer() -> None:
    result = check_submission(b"\xff\xfe garbage", VISITS)
    assert isinstance(result, Rejected) and result.submission_id is None


def test_an_oversized_message_is_refused_unread() -> None:
    padding = "x" * MAX_SUBMISSION_BYTES
    result = check_submission(json.dumps(submission(submission_id="big-1", receipt_issuer=padding)).encode(), VISITS)
    assert isinstance(result, Rejected) and result.submission_id == "big-1"
    assert codes(result) == [("too_large", None)]


def test_reasons_never_repeat_the_identity_number() -> None:
    result = check(patient_id="19850412-1231", fee_amount="x")
    assert isinstance(result, Rejected)
    assert all("19850412" not in r.message for r in result.reasons)
