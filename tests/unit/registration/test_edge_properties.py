"""Properties of the submission rules over arbitrary input (no Kafka): whatever is sent, the answer is an
acceptance or a refusal, never an exception; a refusal is answered under the id `submission_id_in` reads;
and what is accepted is only what the database, protection and the outcome's JSON can carry."""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.integration import MAX_FEE_AMOUNT, MAX_SUBMISSION_BYTES
from contracts.text import printable
from registration.submission_rules import Accepted, Rejected, VisitDates, check_submission, submission_id_in
from tests.submissions import ODD_FIELD_VALUES, submission

TODAY = date(2026, 11, 22)
VISITS = VisitDates(first=date(2019, 1, 1), last=TODAY)
EXAMPLES = int(os.environ.get("EFRIKORT_FUZZ_EXAMPLES", "500"))
FIELDS = list(submission())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
odd_values = st.sampled_from(
    [
        "١٩٨٥٠٤١٢-١٢٣٠",
        "１９８５０４１２-１２３０",
        "19850412-1230\n",
        "2018-12-31",
        "0001-01-01",
        "9999-12-31",
        "2025-04-25\n",
        2**31,
        -(2**63),
        10**40,
        MAX_FEE_AMOUNT + 1,
        "a\x00b",
        "\u0085",
        [],
        {},
        [[[[[[[[[[1]]]]]]]]]],
        "x" * 300,
    ]
)


def with_one_field(field: str, value: Any) -> bytes:
    return json.dumps({**submission(), field: value}).encode()


mutated = st.builds(
    with_one_field,
    st.sampled_from([*FIELDS, "receipt_issuer", "extra"]),
    st.one_of(odd_values, st.integers(), st.text(), json_values),
)
odd_pairs = st.sampled_from([(field, value) for field, values in ODD_FIELD_VALUES.items() for value in values])
odd_fields = odd_pairs.map(lambda pair: with_one_field(*pair))
messages = st.one_of(
    st.binary(max_size=400), json_values.map(lambda v: json.dumps(v).encode()), mutated, mutated, odd_fields, odd_fields
)


def holds(raw: bytes) -> None:
    result = check_submission(raw, VISITS)
    if isinstance(result, Rejected):
        assert result.reasons, "a refusal says why"
        assert result.submission_id == submission_id_in(raw)
        if result.submission_id is not None:
            assert 0 < len(result.submission_id) <= 100 and printable(result.submission_id)
        return
    assert isinstance(result, Accepted)
    fee = result.submission
    assert len(raw) <= MAX_SUBMISSION_BYTES
    assert VISITS.first <= fee.visit_date <= VISITS.last
    assert 0 <= fee.fee_amount <= MAX_FEE_AMOUNT
    assert fee.paid_amount is None or 0 <= fee.paid_amount <= fee.fee_amount
    assert result.patient.digits.isascii() and result.patient.digits.isdigit() and len(result.patient.digits) == 12
    for text in (fee.submission_id, fee.patient_id, fee.care_unit, fee.registered_by, fee.fee_type):
        assert printable(text) and len(text) <= 200
    json.dumps(fee.model_dump(mode="json"), ensure_ascii=False).encode()  # it can be answered and stored


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_every_message_is_accepted_within_the_bounds_or_refused_under_its_readable_id(raw: bytes) -> None:
    holds(raw)


DIGIT_SCRIPTS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]


@st.composite
def written_numbers(draw: st.DrawFn) -> tuple[str, bool]:
    """A valid identity number, some of its digits written in other scripts, something perhaps around it;
    and whether it is written as the contract says (ASCII digits, nothing around)."""
    scripts = [draw(st.sampled_from(DIGIT_SCRIPTS)) for _ in range(12)]
    digits = "".join(script[int(d)] for script, d in zip(scripts, "198504121230", strict=True))
    before, after = draw(st.sampled_from(["", " ", "\n"])), draw(st.sampled_from(["", "\n", " ", "\r\n", "\x00"]))
    plain = all(script == DIGIT_SCRIPTS[0] for script in scripts) and not before and not after
    return before + digits[:8] + "-" + digits[8:] + after, plain


@settings(max_examples=max(100, EXAMPLES // 5), deadline=None)
@given(written_numbers())
def test_an_identity_number_is_taken_only_in_ascii_digits_with_nothing_around(written: tuple[str, bool]) -> None:
    patient_id, plain = written
    result = check_submission(with_one_field("patient_id", patient_id), VISITS)
    assert isinstance(result, Accepted) is plain
