"""DOMAIN.md, rule by rule: fees, age, the ceiling, the twelve-month period, order.

Each class is one section or numbered rule of DOMAIN.md; each test states the rule it checks.
"""

from __future__ import annotations

from datetime import date

import pytest

from contracts.identity import IdentityNumber, with_check_digit
from protection.age import age_on
from protection.ledger import Basis, anniversary, last_day
from protection.regions import PeriodMode, RegionSettings
from tests.unit.protection.fees import ADULT, REGION, due, fixed_region, ledger_of, visit


class TestFeesThatCount:
    """Counting (högkostnadsgrundande) fees move the ledger; the others are kept but never do."""

    @pytest.mark.parametrize(
        "fee_type",
        [
            "doctor_visit",
            "other_staff_visit",
            "home_visit",
            "digital_visit",
            "ambulance_on_site",
            "receipt_other_region",
            "receipt_unconnected_provider",
        ],
    )
    def test_outpatient_visits_and_receipts_count(self, fee_type: str) -> None:
        fee = visit(date(2025, 3, 1), 200, fee_type)
        ledger = ledger_of(fee)
        assert ledger.assessments[fee.fee_id].counted == 200
        assert ledger.periods[0].start == date(2025, 3, 1)

    @pytest.mark.parametrize(
        "fee_type",
        [
            "missed_appointment",
            "certificate",
            "travel_vaccination",
            "preventive_care",
            "screening",
            "inpatient_daily_fee",
            "occupational_health",
            "private_without_agreement",
            "record_copy",
        ],
    )
    def test_a_non_counting_fee_is_due_in_full_and_never_moves_the_ledger(self, fee_type: str) -> None:
        fee = visit(date(2025, 3, 1), 400, fee_type)
        ledger = ledger_of(fee)
        assert ledger.assessments[fee.fee_id].amount_due == 400
        assert ledger.assessments[fee.fee_id].counted == 0
        assert ledger.periods == []

    def test_a_non_counting_fee_is_not_covered_by_a_free_card(self) -> None:
        reached = visit(date(2025, 4, 25), 1450)
        missed = visit(date(2025, 5, 2), 400, "missed_appointment")
        later = visit(date(2025, 5, 3))
        assert due(ledger_of(reached, missed, later), missed, later) == [400, 0]


class TestFreeOfChargeByAge:
    """Patients aged 85 or over pay nothing by law; children under the region's limit pay nothing.
    Such visits are registered with 0 to pay and do not start a period."""

    def test_a_patient_aged_85_on_the_visit_date_pays_nothing(self) -> None:
        born = date(1940, 6, 15)
        on_birthday = visit(date(2025, 6, 15), born=born)
        ledger = ledger_of(on_birthday)
        assert ledger.assessments[on_birthday.fee_id].amount_due == 0
        assert ledger.assessments[on_birthday.fee_id].basis is Basis.AGED_85_OR_OVER
        assert ledger.periods == []

    def test_the_day_before_turning_85_the_visit_is_due(self) -> None:
        day_before = visit(date(2025, 6, 14), born=date(1940, 6, 15))
        assert due(ledger_of(day_before), day_before) == [300]

    def test_a_child_under_18_pays_nothing_and_starts_no_period(self) -> None:
        child = visit(date(2025, 3, 1), born=date(2008, 3, 2))
        ledger = ledger_of(child)
        assert ledger.assessments[child.fee_id].basis is Basis.CHILD
        assert (ledger.assessments[child.fee_id].amount_due, ledger.periods) == (0, [])

    def test_on_the_18th_birthday_the_visit_costs_and_starts_the_period(self) -> None:
        adult_today = visit(date(2025, 3, 2), born=date(2007, 3, 2))
        ledger = ledger_of(adult_today)
        assert due(ledger, adult_today) == [300]
        assert ledger.periods[0].start == date(2025, 3, 2)

    def test_the_child_age_limit_is_the_regions_under_20_in_vastra_gotaland(self) -> None:
        nineteen = visit(date(2025, 3, 1), born=date(2005, 6, 1))
        assert due(ledger_of(nineteen, region=fixed_region(child_age_limit=20)), nineteen) == [0]
        assert due(ledger_of(nineteen, region=fixed_region(child_age_limit=18)), nineteen) == [300]

    def test_age_comes_from_the_identity_number_and_a_coordination_number_has_60_added_to_the_day(self) -> None:
        coordination = IdentityNumber.parse(with_check_digit("19400675000"))
        assert coordination.coordination
        assert coordination.birth_date == date(1940, 6, 15)
        fee = visit(date(2025, 6, 15), born=coordination.birth_date)
        assert ledger_of(fee).assessments[fee.fee_id].basis is Basis.AGED_85_OR_OVER

    def test_someone_born_on_29_february_turns_a_year_older_on_1_march_in_a_year_without_one(self) -> None:
        assert age_on(date(1940, 2, 29), date(2025, 2, 28)) == 84
        assert age_on(date(1940, 2, 29), date(2025, 3, 1)) == 85


class TestTheCeiling:
    """0.025 x the price base amount, rounded down to whole 50 kr; configuration with effective dates."""

    @pytest.mark.parametrize(
        ("day", "ceiling"),
        [
            (date(2019, 1, 1), 1150),
            (date(2021, 12, 31), 1150),
            (date(2022, 1, 1), 1200),
            (date(2023, 6, 1), 1300),
            (date(2024, 6, 1), 1400),
            (date(2025, 6, 1), 1450),
            (date(2026, 6, 1), 1450),
        ],
    )
    def test_the_ceilings_of_2019_to_2026_are_the_defaults(self, day: date, ceiling: int) -> None:
        assert REGION.ceiling_on(day) == ceiling

    def test_a_region_may_set_a_lower_ceiling(self) -> None:
        fees = [visit(date(2025, 3, 1), 600), visit(date(2025, 3, 2), 600)]
        ledger = ledger_of(*fees, region=fixed_region(ceiling=1000))
        assert due(ledger, *fees) == [600, 400]
        assert ledger.free_cards[0].ceiling == 1000

    def test_a_new_ceiling_on_1_january_applies_to_a_running_period_without_a_free_card(self) -> None:
        # 2024's ceiling is 1 400; the period runs into 2025, where it is 1 450.
        fees = [visit(date(2024, 10, 1), 1000), visit(date(2025, 1, 10), 400), visit(date(2025, 1, 11), 400)]
        ledger = ledger_of(*fees)
        assert due(ledger, *fees) == [1000, 400, 50]
        assert ledger.free_cards[0].valid_from == date(2025, 1, 11)

    def test_a_free_card_issued_under_the_old_ceiling_stays_valid_until_it_runs_out(self) -> None:
        fees = [visit(date(2024, 10, 1), 1400), visit(date(2025, 2, 1), 300)]
        ledger = ledger_of(*fees)
        assert ledger.free_cards[0].ceiling == 1400
        assert due(ledger, *fees) == [1400, 0]


class TestRule1APeriodStarts:
    """A period starts on the visit date of the first counting fee that is not covered by a valid free card."""

    def test_the_first_counting_fee_starts_the_period(self) -> None:
        ledger = ledger_of(visit(date(2025, 2, 1), 100, "certificate"), visit(date(2025, 3, 1)))
        assert [p.start for p in ledger.periods] == [date(2025, 3, 1)]

    def test_a_fee_covered_by_a_free_card_starts_no_period(self) -> None:
        ledger = ledger_of(visit(date(2025, 1, 5), 1450), visit(date(2025, 6, 1)))
        assert len(ledger.periods) == 1


class TestRule2And3PartialPayment:
    """Every counting fee adds what is due for it; the fee due is min(tariff, ceiling - sum so far), never
    below zero, so the visit that reaches the ceiling may cost less than its tariff."""

    def test_each_counting_fee_adds_what_the_patient_is_due_to_pay(self) -> None:
        fees = [visit(date(2025, 4, 25 + i)) for i in range(4)]
        assert ledger_of(*fees).periods[0].total == 1200

    def test_the_visit_that_reaches_the_ceiling_costs_only_what_is_left(self) -> None:
        fees = [visit(date(2025, 4, 25 + i)) for i in range(5)]
        assert due(ledger_of(*fees), *fees) == [300, 300, 300, 300, 250]

    def test_a_fee_of_zero_kronor_counts_nothing_and_costs_nothing(self) -> None:
        free = visit(date(2025, 4, 25), 0)
        assert due(ledger_of(free), free) == [0]


class TestRule4TheFreeCard:
    """When the sum reaches the ceiling a free card is issued, valid from that visit date through the day
    before the period's first anniversary."""

    def test_worked_example_25_april_10_october_24_april(self) -> None:
        """Period start 25 April 2025, ceiling reached 10 October 2025: valid 10 October 2025 - 24 April 2026."""
        ledger = ledger_of(visit(date(2025, 4, 25), 1000), visit(date(2025, 10, 10), 450))
        [card] = ledger.free_cards
        assert (card.period_start, card.valid_from, card.valid_to) == (
            date(2025, 4, 25),
            date(2025, 10, 10),
            date(2026, 4, 24),
        )

    def test_no_free_card_below_the_ceiling(self) -> None:
        assert ledger_of(visit(date(2025, 4, 25), 1449)).free_cards == []


class TestRule5WhileTheFreeCardIsValid:
    """While a free card is valid every counting fee costs 0; the first counting visit after it has run
    out starts a new period."""

    def test_counting_fees_cost_nothing_through_the_last_day(self) -> None:
        reached = visit(date(2025, 4, 25), 1450)
        last_day_visit = visit(date(2026, 4, 24))
        ledger = ledger_of(reached, last_day_visit)
        assert ledger.assessments[last_day_visit.fee_id].basis is Basis.FREE_CARD
        assert due(ledger, last_day_visit) == [0]

    def test_a_visit_on_the_same_day_after_the_one_that_reached_the_ceiling_is_free(self) -> None:
        reached = visit(date(2025, 4, 25), 1450)
        same_day = visit(date(2025, 4, 25))
        assert due(ledger_of(reached, same_day), same_day) == [0]

    def test_the_first_counting_visit_after_the_card_ran_out_starts_a_new_period(self) -> None:
        after = visit(date(2026, 4, 25))
        ledger = ledger_of(visit(date(2025, 4, 25), 1450), after)
        assert due(ledger, after) == [300]
        assert [p.start for p in ledger.periods] == [date(2025, 4, 25), date(2026, 4, 25)]


class TestRule6RollingPeriods:
    """`rolling` (the default): the period is the twelve months up to the visit assessed; older fees drop
    out and the period start moves to the oldest fee still inside the window."""

    def test_the_default_is_rolling(self) -> None:
        assert REGION.on(date(2025, 1, 1)).period_mode is PeriodMode.ROLLING

    def test_fees_older_than_twelve_months_drop_out(self) -> None:
        old, middle = visit(date(2024, 3, 1), 800), visit(date(2024, 9, 1), 500)
        later = visit(date(2025, 3, 1), 800)
        ledger = ledger_of(old, middle, later)
        # On 1 March 2025 the fee of 1 March 2024 is outside the twelve months: 500 + 800 < 1 450... no card.
        assert due(ledger, later) == [800]
        assert ledger.free_cards == []
        standing = ledger.standing_on(date(2025, 3, 1), REGION)
        assert (standing.period_start, standing.sum) == (date(2024, 9, 1), 1300)

    def test_the_last_day_of_the_window_still_counts(self) -> None:
        first, on_last_day = visit(date(2024, 3, 2), 800), visit(date(2025, 3, 1), 800)
        ledger = ledger_of(first, on_last_day)
        assert due(ledger, on_last_day) == [650]
        assert ledger.free_cards[0].valid_to == date(2025, 3, 1)

    def test_a_fee_of_a_period_that_reached_a_free_card_never_counts_again(self) -> None:
        fees = [visit(date(2025, 1, 10), 1450), visit(date(2026, 1, 20), 1000)]
        ledger = ledger_of(*fees)
        assert ledger.standing_on(date(2026, 1, 20), REGION).sum == 1000


class TestRule6FixedPeriods:
    """`fixed`: the period ends on the day before its anniversary; the next counting visit starts from zero."""

    def test_the_next_counting_visit_after_the_last_day_starts_a_new_period_from_zero(self) -> None:
        first, on_last_day, next_period = (
            visit(date(2024, 9, 1), 800),
            visit(date(2025, 8, 31), 300),
            visit(date(2025, 9, 1), 800),
        )
        ledger = ledger_of(first, on_last_day, next_period, region=fixed_region())
        assert due(ledger, first, on_last_day, next_period) == [800, 300, 800]
        assert [p.start for p in ledger.periods] == [date(2024, 9, 1), date(2025, 9, 1)]
        assert ledger.standing_on(date(2025, 9, 1), fixed_region()).sum == 800

    def test_fixed_and_rolling_differ_where_old_fees_would_drop_out(self) -> None:
        fees = [visit(date(2024, 3, 1), 800), visit(date(2024, 9, 1), 500), visit(date(2025, 3, 1), 800)]
        assert due(ledger_of(*fees, region=fixed_region()), fees[2]) == [800]  # a new fixed period from zero
        assert ledger_of(*fees, region=fixed_region()).periods[-1].start == date(2025, 3, 1)


class TestRule7Dates:
    """A period's last day is the day before the first anniversary of its start; 29 February's anniversary
    in a year without one is 1 March."""

    def test_a_period_starting_29_february_2024_ends_on_28_february_2025(self) -> None:
        assert anniversary(date(2024, 2, 29)) == date(2025, 3, 1)
        assert last_day(date(2024, 2, 29)) == date(2025, 2, 28)

    def test_a_free_card_of_a_period_starting_29_february_runs_through_28_february(self) -> None:
        ledger = ledger_of(visit(date(2024, 2, 29), 1000), visit(date(2024, 5, 1), 500))
        assert ledger.free_cards[0].valid_to == date(2025, 2, 28)

    def test_an_ordinary_last_day(self) -> None:
        assert last_day(date(2025, 4, 25)) == date(2026, 4, 24)


class TestOrder:
    """The ledger is the replay of the counting fees in visit-date order, ties by registration time, never
    the order in which messages arrived."""

    def test_arrival_order_does_not_matter(self) -> None:
        fees = [visit(date(2025, 4, 25 + i)) for i in range(5)]
        forwards, backwards = ledger_of(*fees), ledger_of(*reversed(fees))
        assert forwards.assessments == backwards.assessments

    def test_fees_on_the_same_day_are_taken_in_registration_order(self) -> None:
        base = visit(date(2025, 4, 1), 1300)
        first, second = visit(date(2025, 4, 25), 300), visit(date(2025, 4, 25), 300)
        assert due(ledger_of(second, base, first), first, second) == [150, 0]


class TestRegionSettingsFile:
    """Region settings come from a versioned file; a change takes effect only from its date."""

    def test_a_change_takes_effect_only_from_its_date(self) -> None:
        region = RegionSettings.from_toml(
            "format = 1\n[[change]]\neffective_from = 2019-01-01\nceiling = 1150\nchild_age_limit = 18\n"
            'period_mode = "rolling"\npreliminary_window_hours = 48\n'
            '[[change]]\neffective_from = 2025-07-01\nchild_age_limit = 20\nperiod_mode = "fixed"\n'
        )
        assert region.on(date(2025, 6, 30)).child_age_limit == 18
        assert region.on(date(2025, 7, 1)).child_age_limit == 20
        assert region.on(date(2025, 7, 1)).period_mode is PeriodMode.FIXED
        assert region.on(date(2025, 7, 1)).ceiling == 1150  # what a change leaves out stays as it was

    @pytest.mark.parametrize(
        ("document", "message"),
        [
            ("format = 2\n[[change]]\neffective_from = 2019-01-01", "format"),
            ("format = 1\n[[change]]\neffective_from = 2019-01-01\nceiling = 1150", "the first change must set"),
            ("format = 1\n[[change]]\neffective_from = 2019-01-01\nceiling = -5", "change 1: ceiling"),
            ("format = 1\n[[change]]\neffective_from = 'soon'", "change 1: effective_from"),
            ('format = 1\n[[change]]\neffective_from = 2019-01-01\nperiod_mode = "monthly"', "period_mode"),
            ("format = 1\n[[change]]\neffective_from = 2019-01-01\nceilling = 5", "unknown setting 'ceilling'"),
        ],
    )
    def test_a_wrong_file_is_refused_naming_the_entry_and_field(self, document: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            RegionSettings.from_toml(document)

    def test_changes_must_be_in_date_order(self) -> None:
        with pytest.raises(ValueError, match="change 2: effective_from must be after"):
            RegionSettings.from_toml(
                "format = 1\n[[change]]\neffective_from = 2020-01-01\nceiling = 1150\nchild_age_limit = 18\n"
                'period_mode = "rolling"\npreliminary_window_hours = 48\n[[change]]\neffective_from = 2019-01-01\n'
            )

    def test_nothing_is_assessed_before_the_first_setting(self) -> None:
        with pytest.raises(ValueError, match="no region settings in force on 2018-12-31"):
            REGION.on(date(2018, 12, 31))


def test_the_adult_test_patient_is_an_adult() -> None:
    assert 18 <= age_on(ADULT, date(2025, 1, 1)) < 85
