"""The edge takes only what the rest can carry: whatever a submission holds, what the parser, the database
or the rules could not take is refused here, naming the field, never quoting what was sent."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from contracts.integration import MAX_FEE_AMOUNT, MAX_NESTING_DEPTH, MAX_SUBMISSION_BYTES
from registration.submission_rules import (
    Accepted,
    Rejected,
    VisitDates,
    check_fee_values,
    check_submission,
    submission_id_in,
)
from tests.submissions import submission

TODAY = date(2026, 11, 22)
VISITS = VisitDates(first=date(2019, 1, 1), last=TODAY)
ID = "edge-1"


def sent(**overrides: Any) -> bytes:
    return json.dumps(submission(submission_id=ID, **overrides)).encode()


def nested(depth: int) -> bytes:
    return b'{"submission_id": "' + ID.encode() + b'", "fee_amount": ' + b"[" * depth + b"]" * depth + b"}"


ARABIC_INDIC = "١٩٨٥٠٤١٢-١٢٣٠"
FULLWIDTH = "１９８５０４１２-１２３０"

# What an integrator might send, and the one answer it gets: (code, field), answered under its submission id.
EDGE_CASES: dict[str, tuple[bytes, str, str | None]] = {
    "an identity number in Arabic-Indic digits": (sent(patient_id=ARABIC_INDIC), "invalid_patient_id", "patient_id"),
    "an identity number in fullwidth digits": (sent(patient_id=FULLWIDTH), "invalid_patient_id", "patient_id"),
    "an identity number with a trailing newline": (sent(patient_id="19850412-1230\n"), "invalid_value", "patient_id"),
    "an identity number with a space before it": (sent(patient_id=" 198504121230"), "invalid_patient_id", "patient_id"),
    "a visit before the region's rules begin": (sent(visit_date="2018-12-31"), "visit_date_not_covered", "visit_date"),
    "a visit in year one": (sent(visit_date="0001-01-01"), "visit_date_not_covered", "visit_date"),
    "a visit date in Arabic-Indic digits": (sent(visit_date="٢٠٢٥-٠٤-٢٥"), "invalid_value", "visit_date"),
    "a visit date with a trailing newline": (sent(visit_date="2025-04-25\n"), "invalid_value", "visit_date"),
    "a fee one krona above the maximum": (
        sent(fee_amount=MAX_FEE_AMOUNT + 1, paid_amount=None),
        "amount_too_large",
        "fee_amount",
    ),
    "a fee past the database's integer": (sent(fee_amount=2**31, paid_amount=None), "amount_too_large", "fee_amount"),
    "a paid amount past any integer type": (sent(paid_amount=10**30), "amount_too_large", "paid_amount"),
    "a fee of more digits than Python reads": (
        b'{"submission_id": "edge-1", "fee_amount": ' + b"9" * 5000 + b"}",
        "malformed_json",
        None,
    ),
    "a NUL in a field": (sent(care_unit="SE2321000016-U001\x00"), "invalid_value", "care_unit"),
    "a line break in the fee type": (sent(fee_type="doctor_visit\r\n"), "invalid_value", "fee_type"),
    "a lone surrogate in a field": (
        sent(receipt_issuer="x").replace(b'"receipt_issuer": "x"', b'"receipt_issuer": "\\ud800"'),
        "malformed_json",
        None,
    ),
    "a string longer than its field": (sent(care_unit="U" * 65), "invalid_value", "care_unit"),
    "deep nesting": (nested(1000), "too_deep", None),
    "nesting just past the bound": (nested(MAX_NESTING_DEPTH), "too_deep", None),
    "an array holding the submission": (b"[" + sent() + b"]", "malformed_json", None),
    "NaN for an amount": (sent().replace(b'"fee_amount": 300', b'"fee_amount": NaN'), "malformed_json", None),
    "larger than a submission may be": (sent(receipt_issuer="x" * MAX_SUBMISSION_BYTES), "too_large", None),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_each_odd_submission_is_refused_naming_the_field_and_answered_under_its_id(case: str) -> None:
    raw, code, field = EDGE_CASES[case]
    result = check_submission(raw, VISITS)
    assert isinstance(result, Rejected), result
    assert [(r.code, r.field) for r in result.reasons] == [(code, field)]
    assert result.submission_id == ID == submission_id_in(raw)


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2]", b"42", b'"a string"', b"null", b"true", b"", b"\x00", b"\xff\xfe", b"[" * 5000],
    ids=["array", "number", "string", "null", "true", "empty", "NUL", "not UTF-8", "deep array"],
)
def test_json_that_is_not_one_object_is_refused_with_nobody_to_answer(raw: bytes) -> None:
    result = check_submission(raw, VISITS)
    assert isinstance(result, Rejected) and result.submission_id is None
    assert [r.code for r in result.reasons] in (["malformed_json"], ["too_deep"])


@pytest.mark.parametrize(
    "submission_id",
    ["", "x" * 101, "abc\x00", "abc\n", "\x7f", "a\u0085b"],
    ids=["empty", "too long", "NUL", "newline", "DEL", "C1 control"],
)
def test_a_submission_id_that_cannot_be_a_key_text_and_json_alike_is_not_answered_under(submission_id: str) -> None:
    raw = json.dumps(submission(submission_id=submission_id)).encode()
    result = check_submission(raw, VISITS)
    assert isinstance(result, Rejected) and result.submission_id is None
    assert ("invalid_value", "submission_id") in [(r.code, r.field) for r in result.reasons]


def test_an_unknown_field_is_named_only_when_its_name_is_a_plain_name() -> None:
    document = {**submission(submission_id=ID), "19850412-1230": 1, "colour\x00": 2, "colour": 3}
    result = check_submission(json.dumps(document).encode(), VISITS)
    assert isinstance(result, Rejected)
    assert sorted((r.code, r.field or "") for r in result.reasons) == [
        ("unknown_field", ""),
        ("unknown_field", ""),
        ("unknown_field", "colour"),
    ]


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({"visit_date": "2019-01-01"}, True),
        ({"visit_date": "2018-12-31"}, False),
        ({"visit_date": TODAY.isoformat()}, True),
        ({"fee_amount": MAX_FEE_AMOUNT, "paid_amount": MAX_FEE_AMOUNT}, True),
        ({"fee_amount": MAX_FEE_AMOUNT, "paid_amount": MAX_FEE_AMOUNT + 1}, False),
        ({"fee_amount": 0, "paid_amount": 0}, True),
        ({"patient_id": "198504121230"}, True),
        ({"receipt_issuer": "Region Skåne, Vårdcentral Ö"}, True),
    ],
)
def test_the_bounds_themselves_are_inside(overrides: dict[str, Any], accepted: bool) -> None:
    assert isinstance(check_submission(sent(**overrides), VISITS), Accepted) is accepted


def test_a_correction_is_held_to_the_same_dates_and_amounts() -> None:
    reasons = check_fee_values(
        visit_date=date(2018, 6, 1), fee_type="doctor_visit", fee_amount=2**40, paid_amount=-(2**40), visits=VISITS
    )
    assert sorted((r.code, r.field) for r in reasons) == [
        ("amount_too_large", "fee_amount"),
        ("negative_amount", "paid_amount"),
        ("visit_date_not_covered", "visit_date"),
    ]


@pytest.mark.parametrize("case", EDGE_CASES)
def test_no_refusal_quotes_what_was_sent(case: str) -> None:
    raw, _, _ = EDGE_CASES[case]
    result = check_submission(raw, VISITS)
    assert isinstance(result, Rejected)
    for said in (r.message for r in result.reasons):
        for quoted in (ARABIC_INDIC, FULLWIDTH, "19850412", "2018-12-31", "0001", str(2**31), "U" * 65, "9999"):
            assert quoted not in said
