"""A quote is the assessment the visit would get if it were registered now: the same replay, nothing kept."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from protection.ledger import Basis, Fee
from protection.quote import Visit, quote
from protection.recompute import PatientHistory, recompute
from tests.unit.protection.fees import ADULT, REGION, visit

NOW = datetime(2025, 12, 1, 12, tzinfo=UTC)
UNIT = "SE2321000016-U001"


def history_of(*fees: Fee) -> PatientHistory:
    return PatientHistory(list(fees), [], [], {})


def asked(day: date, amount: int, fee_type: str = "doctor_visit", born: date = ADULT) -> Visit:
    return Visit(day, UNIT, fee_type, amount, born)


@pytest.mark.parametrize(
    ("day", "amount", "fee_type", "born"),
    [
        (date(2025, 5, 10), 600, "doctor_visit", ADULT),  # reaches the ceiling: partly due
        (date(2025, 4, 1), 600, "doctor_visit", ADULT),  # before every fee: the period starts there
        (date(2025, 6, 1), 200, "missed_appointment", ADULT),  # not counting: due in full
        (date(2025, 6, 1), 300, "doctor_visit", date(1940, 1, 1)),  # 85 or over: free
    ],
)
def test_a_quote_is_what_registering_the_visit_would_assess(day: date, amount: int, fee_type: str, born: date) -> None:
    fees = [visit(date(2025, 4, 25), 1000, born=born), visit(date(2025, 6, 15), 300, born=born)]
    answer = quote(history_of(*fees), asked(day, amount, fee_type, born), REGION, NOW)

    registered = visit(day, amount, fee_type, born=born)
    assessed = recompute(history_of(*fees, registered), REGION, NOW).ledger.assessments[registered.fee_id]
    assert answer.assessment == assessed


def test_the_visit_that_reaches_the_ceiling_makes_the_card_and_a_later_one_is_covered() -> None:
    history = history_of(visit(date(2025, 4, 25), 1000))
    reaching = quote(history, asked(date(2025, 5, 10), 600), REGION, NOW)
    assert (reaching.assessment.amount_due, reaching.reaches_ceiling, reaching.free_card_applies) == (450, True, False)
    assert reaching.status.standing.free_card is not None and reaching.card_number is None

    covered_history = history_of(visit(date(2025, 4, 25), 1500))
    covered = quote(covered_history, asked(date(2025, 6, 1), 300), REGION, NOW)
    assert (covered.assessment.basis, covered.reaches_ceiling, covered.free_card_applies) == (
        Basis.FREE_CARD,
        False,
        True,
    )


def test_a_quote_changes_nothing_it_is_given() -> None:
    fees = [visit(date(2025, 4, 25), 1000)]
    history = history_of(*fees)
    quote(history, asked(date(2025, 5, 10), 600), REGION, NOW)
    assert history.fees == fees and history.issued_cards == []
