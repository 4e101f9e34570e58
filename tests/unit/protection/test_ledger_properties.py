"""Properties of the ledger, checked on random fee histories against a second, deliberately simple model.

The model below is written from DOMAIN.md alone, independently of `protection.ledger`: no deque, no
incremental sums, the twelve months worked out afresh for every fee. If the two ever disagree, one
of them misreads the rules.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.fee_types import FEE_TYPES
from protection.ledger import Fee, replay
from protection.recompute import PatientHistory, history_after, recompute
from tests.unit.protection.fees import REGION

NOW = datetime(2026, 11, 1, tzinfo=UTC)


# --- the simple model -----------------------------------------------------------------------------


def _one_year_after(day: date) -> date:
    if (day.month, day.day) == (2, 29):
        return date(day.year + 1, 3, 1)
    return date(day.year + 1, day.month, day.day)


def _years_between(born: date, day: date) -> int:
    """Birthdays passed by `day`; 29 February's is 1 March in a year without one."""

    def birthday(year: int) -> date:
        return date(year, 3, 1) if (born.month, born.day) == (2, 29) and not _leap(year) else born.replace(year=year)

    return sum(1 for year in range(born.year + 1, day.year + 1) if birthday(year) <= day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def simple_model(fees: list[Fee]) -> tuple[dict[UUID, int], list[tuple[date, date]]]:
    """What each fee costs and which free cards there are, straight from the rules."""
    ordered = sorted(fees, key=lambda f: (f.visit_date, f.registered_at, f.fee_id))
    owed: dict[UUID, int] = {}
    cards: list[tuple[date, date]] = []
    counted: list[tuple[date, int]] = []  # counting fees of the running period, with what each added
    for fee in ordered:
        day = fee.visit_date
        if not FEE_TYPES[fee.fee_type].counting:
            owed[fee.fee_id] = fee.fee_amount
            continue
        age = _years_between(fee.birth_date, day)
        if age >= 85 or age < REGION.on(day).child_age_limit:
            owed[fee.fee_id] = 0
            continue
        if any(start <= day <= end for start, end in cards):
            owed[fee.fee_id] = 0
            continue
        in_window = [(d, a) for d, a in counted if _one_year_after(d) > day]
        so_far = sum(a for _, a in in_window)
        ceiling = REGION.on(day).ceiling
        pay = max(0, min(fee.fee_amount, ceiling - so_far))
        owed[fee.fee_id] = pay
        counted = [*in_window, (day, pay)]
        if so_far + pay >= ceiling:
            start = min(d for d, _ in counted)
            cards.append((day, _one_year_after(start) - timedelta(days=1)))
            counted = []  # a period that reached a free card never counts again
    return owed, cards


# --- random histories -------------------------------------------------------------------------------

BIRTH_DATES = st.sampled_from(
    [
        date(1985, 4, 12),
        date(1985, 4, 12),
        date(1985, 4, 12),
        date(2008, 2, 29),
        date(1940, 2, 29),
        date(1939, 12, 31),
        date(2007, 6, 1),
    ]
)


@st.composite
def fee_histories(draw: st.DrawFn) -> list[Fee]:
    born = draw(BIRTH_DATES)
    count = draw(st.integers(min_value=1, max_value=30))
    # Dates a year apart, to the day and a day either side, are where period rules are easiest to get wrong.
    anchors = [date(2024, 2, 29), *(date(2023, 1, 1) + timedelta(days=draw(st.integers(0, 900))) for _ in range(3))]
    near_anniversaries = [
        a.replace(year=a.year + 1) if (a.month, a.day) != (2, 29) else date(a.year + 1, 3, 1) for a in anchors
    ]
    special = [
        *anchors,
        *near_anniversaries,
        *(d - timedelta(days=1) for d in near_anniversaries),
        *(d + timedelta(days=1) for d in near_anniversaries),
    ]
    fees = []
    for index in range(count):
        fees.append(
            Fee(
                fee_id=UUID(int=draw(st.integers(min_value=1, max_value=2**64))),
                visit_date=draw(
                    st.sampled_from(special)
                    | st.builds(
                        lambda days: date(2023, 1, 1) + timedelta(days=days), st.integers(min_value=0, max_value=1300)
                    )
                ),
                registered_at=datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=index),
                fee_type=draw(
                    st.sampled_from(
                        [
                            "doctor_visit",
                            "doctor_visit",
                            "other_staff_visit",
                            "receipt_other_region",
                            "missed_appointment",
                            "certificate",
                        ]
                    )
                ),
                fee_amount=draw(st.sampled_from([0, 100, 200, 300, 400, 1000, 1450])),
                birth_date=born,
                care_unit=draw(st.sampled_from(["U-A", "U-B"])),
                paid_amount=draw(st.none() | st.sampled_from([0, 200, 300])),
            )
        )
    return list({f.fee_id: f for f in fees}.values())


# --- the properties ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(fee_histories())
def test_the_ledger_agrees_with_the_simple_model(fees: list[Fee]) -> None:
    ledger = replay(fees, REGION)
    owed, cards = simple_model(fees)
    assert {fee_id: a.amount_due for fee_id, a in ledger.assessments.items()} == owed
    assert [(c.valid_from, c.valid_to) for c in ledger.free_cards] == cards


@settings(max_examples=200, deadline=None)
@given(fee_histories())
def test_amounts_due_are_never_negative_nor_above_the_tariff(fees: list[Fee]) -> None:
    ledger = replay(fees, REGION)
    for fee in fees:
        assert 0 <= ledger.assessments[fee.fee_id].amount_due <= fee.fee_amount


@settings(max_examples=200, deadline=None)
@given(fee_histories())
def test_the_period_sum_never_exceeds_the_ceiling(fees: list[Fee]) -> None:
    ledger = replay(fees, REGION)
    for period in ledger.periods:
        assert period.total <= period.ceiling
    for fee in fees:
        standing = ledger.standing_on(fee.visit_date, REGION)
        assert 0 <= standing.sum <= standing.ceiling
        assert standing.remaining == standing.ceiling - standing.sum


@settings(max_examples=150, deadline=None)
@given(fee_histories(), st.randoms(use_true_random=False))
def test_fees_delivered_in_any_order_with_repeats_end_in_the_ledger_of_replaying_them_sorted(
    fees: list[Fee], shuffle: random.Random
) -> None:
    """Each delivery is recomputed and recorded as the service does; any event may come twice."""
    deliveries = [*fees, *shuffle.sample(fees, k=len(fees) // 3)]
    shuffle.shuffle(deliveries)
    state = PatientHistory([], [], [], {})
    seen: set[UUID] = set()
    for fee in deliveries:
        known = {f.fee_id: f for f in state.fees}
        if fee.fee_id in seen:
            # A second delivery of the same version changes nothing.
            again = recompute(state, REGION, NOW)
            assert (again.card_changes, again.overcharge_changes, again.undercharges, again.charged) == ([], [], [], {})
            continue
        seen.add(fee.fee_id)
        known[fee.fee_id] = fee
        state = history_after(state, recompute(replace(state, fees=list(known.values())), REGION, NOW))

    sorted_ledger = replay(sorted(fees, key=lambda f: (f.visit_date, f.registered_at)), REGION)
    final = recompute(state, REGION, NOW)
    assert final.ledger.assessments == sorted_ledger.assessments
    assert [(c.valid_from, c.valid_to) for c in state.issued_cards] == [
        (c.valid_from, c.valid_to) for c in sorted_ledger.free_cards
    ]
    # Every overcharge still open is exactly what the fee's unit owes now.
    for overcharge in state.overcharges:
        if overcharge.state.value == "open":
            fee = next(f for f in state.fees if f.fee_id == overcharge.fee_id)
            assert overcharge.amount == (fee.paid_amount or 0) - sorted_ledger.assessments[fee.fee_id].amount_due
