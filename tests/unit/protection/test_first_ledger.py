"""DOMAIN.md, the twelve-month period: the rules the first ledger already keeps."""

from datetime import UTC, date, datetime
from uuid import uuid4

from protection.ceilings import NATIONAL_CEILINGS
from protection.ledger import Fee, anniversary, replay


def fee(visit: date, amount: int = 300, fee_type: str = "doctor_visit", registered_second: int = 0) -> Fee:
    return Fee(uuid4(), visit, datetime(2025, 1, 1, 0, 0, registered_second, tzinfo=UTC), fee_type, amount)


def test_the_ceiling_is_configuration_with_effective_dates() -> None:
    assert NATIONAL_CEILINGS.on(date(2021, 12, 31)) == 1150
    assert NATIONAL_CEILINGS.on(date(2022, 1, 1)) == 1200
    assert NATIONAL_CEILINGS.on(date(2024, 6, 1)) == 1400
    assert NATIONAL_CEILINGS.on(date(2026, 6, 1)) == 1450


def test_partial_payment_the_visit_that_reaches_the_ceiling_costs_only_what_is_left() -> None:
    fees = [fee(date(2025, 4, 25 + i)) for i in range(5)]
    ledger = replay(fees, NATIONAL_CEILINGS)
    assert [ledger.amount_due[f.fee_id] for f in fees] == [300, 300, 300, 300, 250]


def test_the_free_card_runs_from_the_visit_reaching_the_ceiling_through_the_day_before_the_anniversary() -> None:
    """Period start 25 April 2025, ceiling reached 10 October 2025: valid 10 October 2025 - 24 April 2026."""
    fees = [fee(date(2025, 4, 25), 1000), fee(date(2025, 10, 10), 450)]
    ledger = replay(fees, NATIONAL_CEILINGS)
    card = ledger.periods[0].free_card
    assert card is not None
    assert (card.valid_from, card.valid_to) == (date(2025, 10, 10), date(2026, 4, 24))


def test_while_the_free_card_is_valid_counting_fees_cost_nothing_but_a_missed_appointment_is_due() -> None:
    reached = [fee(date(2025, 4, 25), 1450)]
    later_visit, missed = fee(date(2025, 5, 1)), fee(date(2025, 5, 2), 400, "missed_appointment")
    ledger = replay([*reached, later_visit, missed], NATIONAL_CEILINGS)
    assert ledger.amount_due[later_visit.fee_id] == 0
    assert ledger.amount_due[missed.fee_id] == 400


def test_fees_are_replayed_in_visit_date_order_whatever_order_they_arrive_in() -> None:
    fees = [fee(date(2025, 4, 25 + i)) for i in range(5)]
    assert replay(list(reversed(fees)), NATIONAL_CEILINGS).amount_due == replay(fees, NATIONAL_CEILINGS).amount_due


def test_the_anniversary_of_29_february_in_a_year_without_one_is_1_march() -> None:
    assert anniversary(date(2024, 2, 29)) == date(2025, 3, 1)
    ledger = replay([fee(date(2024, 2, 29))], NATIONAL_CEILINGS)
    assert ledger.periods[0].last_day == date(2025, 2, 28)


def test_a_non_counting_fee_is_kept_but_never_moves_the_ledger() -> None:
    certificate = fee(date(2025, 4, 20), 500, "certificate")
    visit = fee(date(2025, 4, 25), 300)
    ledger = replay([certificate, visit], NATIONAL_CEILINGS)
    assert ledger.amount_due[certificate.fee_id] == 500
    assert ledger.counted[certificate.fee_id] == 0
    assert [(p.start, p.total) for p in ledger.periods] == [(date(2025, 4, 25), 300)]


def test_a_new_ceiling_on_1_january_applies_to_a_running_period_without_a_free_card() -> None:
    """Period from June 2024 under the 1 400 ceiling; in 2025 the ceiling is 1 450 for it too."""
    fees = [fee(date(2024, 6, 1), 1000), fee(date(2025, 2, 1), 450)]
    ledger = replay(fees, NATIONAL_CEILINGS)
    assert ledger.amount_due[fees[1].fee_id] == 450
    assert ledger.periods[0].ceiling == 1450
    assert ledger.periods[0].free_card is not None


def test_a_free_card_issued_before_1_january_stays_valid_under_the_new_ceiling() -> None:
    fees = [fee(date(2024, 6, 1), 1400), fee(date(2025, 2, 1), 300)]
    ledger = replay(fees, NATIONAL_CEILINGS)
    card = ledger.periods[0].free_card
    assert card is not None and card.valid_to == date(2025, 5, 31)
    assert ledger.amount_due[fees[1].fee_id] == 0
    assert ledger.periods[0].total == 1400


def test_the_first_counting_visit_after_the_free_card_has_run_out_starts_a_new_period() -> None:
    fees = [fee(date(2025, 4, 25), 1450), fee(date(2026, 4, 24), 300), fee(date(2026, 4, 25), 300)]
    ledger = replay(fees, NATIONAL_CEILINGS)
    assert [ledger.amount_due[f.fee_id] for f in fees] == [1450, 0, 300]
    assert [p.start for p in ledger.periods] == [date(2025, 4, 25), date(2026, 4, 25)]
