"""DOMAIN.md, "Order, lateness and corrections", and the free card's status: after every change the
ledger is recomputed and the differences become events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from contracts.integration import FreeCardStatus
from protection.free_cards import CardIssued, CardMoved, CardRevoked
from protection.ledger import Fee
from protection.overcharges import OverchargeChanged, OverchargeFound
from protection.recompute import PatientHistory, Status, history_after, recompute, status_on
from protection.regions import RegionSettings
from tests.unit.protection.fees import REGION, fixed_region, history, refunded, visit

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_recomputing_an_unchanged_history_changes_nothing() -> None:
    fees = [visit(date(2025, 4, 25 + i)) for i in range(5)]
    first = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
    again = recompute(first, REGION, NOW)
    assert (again.card_changes, again.overcharge_changes, again.undercharges, again.charged) == ([], [], [], {})


def test_a_fee_without_a_paid_amount_is_paid_as_first_assessed() -> None:
    fee = visit(date(2025, 4, 25), 300)
    result = recompute(history(fee), REGION, NOW)
    assert result.charged == {fee.fee_id: 300}


class TestFreeCardIssuedMovedRevoked:
    def test_reaching_the_ceiling_issues_a_free_card_with_a_number(self) -> None:
        result = recompute(history(visit(date(2025, 4, 25), 1450)), REGION, NOW)
        [issued] = result.card_changes
        assert isinstance(issued, CardIssued)
        assert issued.number.startswith("FK-")
        assert issued.card.valid_from == date(2025, 4, 25)

    def test_a_late_receipt_moves_the_free_card_earlier_and_it_keeps_its_number(self) -> None:
        fees = [visit(date(2025, 4, 25), 1000), visit(date(2025, 10, 10), 450)]
        before = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
        [card] = before.issued_cards
        receipt = visit(date(2025, 6, 1), 450, "receipt_other_region", paid=450, unit="SE2321000099-X1")
        result = recompute(replace(before, fees=[*before.fees, receipt]), REGION, NOW)
        [moved] = result.card_changes
        assert isinstance(moved, CardMoved)
        assert moved.before.number == card.number
        assert (moved.card.valid_from, moved.card.valid_to) == (date(2025, 6, 1), date(2026, 4, 24))
        assert [c.number for c in result.cards] == [card.number]

    def test_a_late_receipt_turns_what_was_paid_after_the_new_card_date_into_an_overcharge_of_that_unit(self) -> None:
        fees = [visit(date(2025, 4, 25), 1000, unit="U-A"), visit(date(2025, 10, 10), 300, unit="U-B")]
        before = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
        receipt = visit(date(2025, 6, 1), 450, "receipt_other_region", paid=450, unit="U-C")
        result = recompute(replace(before, fees=[*before.fees, receipt]), REGION, NOW)
        [found] = result.overcharge_changes
        assert isinstance(found, OverchargeFound)
        # The 10 October visit was paid 300 and now falls under the free card: unit B owes 300.
        assert (found.fee.care_unit, found.fee.visit_date, found.amount, found.amount_due) == (
            "U-B",
            date(2025, 10, 10),
            300,
            0,
        )
        assert found.overcharge_id.version == 7  # time ordered, as every id e-frikort makes (contracts.ids)

    def test_a_deletion_that_takes_the_sum_below_the_ceiling_revokes_the_card(self) -> None:
        fees = [visit(date(2025, 4, 25), 1000), visit(date(2025, 10, 10), 450)]
        before = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
        result = recompute(replace(before, fees=before.fees[:1]), REGION, NOW)
        [revoked] = result.card_changes
        assert isinstance(revoked, CardRevoked)
        assert result.cards == []

    def test_a_correction_of_the_date_moves_the_card_later(self) -> None:
        fees = [visit(date(2025, 4, 25), 1000), visit(date(2025, 10, 10), 450)]
        before = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
        corrected = replace(before.fees[1], visit_date=date(2025, 11, 1))
        result = recompute(replace(before, fees=[before.fees[0], corrected]), REGION, NOW)
        [moved] = result.card_changes
        assert isinstance(moved, CardMoved) and moved.card.valid_from == date(2025, 11, 1)

    def test_a_card_that_no_longer_overlaps_is_revoked_and_a_new_one_issued(self) -> None:
        fees = [visit(date(2024, 1, 10), 1400)]
        before = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
        corrected = replace(before.fees[0], visit_date=date(2025, 6, 1), fee_amount=1450, paid_amount=1450)
        result = recompute(replace(before, fees=[corrected]), REGION, NOW)
        kinds = sorted(type(c).__name__ for c in result.card_changes)
        assert kinds == ["CardIssued", "CardRevoked"]


class TestOverchargesAndUndercharges:
    def _with_overcharge(self) -> tuple[PatientHistory, list[Fee]]:
        fees = [visit(date(2025, 4, 25), 1450), visit(date(2025, 5, 1), 300, paid=300, unit="U-B")]
        state = history_after(history(*fees), recompute(history(*fees), REGION, NOW))
        return state, fees

    def test_paying_more_than_is_due_is_an_overcharge_owed_by_the_unit_that_charged_it(self) -> None:
        state, fees = self._with_overcharge()
        [open_one] = state.overcharges
        assert (open_one.fee_id, open_one.care_unit, open_one.amount) == (fees[1].fee_id, "U-B", 300)

    def test_an_overcharge_stays_open_until_the_unit_marks_it_refunded(self) -> None:
        state, _ = self._with_overcharge()
        assert recompute(state, REGION, NOW).overcharge_changes == []
        after_refund = refunded(state, state.overcharges[0].overcharge_id)
        assert recompute(after_refund, REGION, NOW).overcharge_changes == []

    def test_a_change_that_removes_the_reason_closes_the_open_overcharge(self) -> None:
        state, _ = self._with_overcharge()
        without_card = replace(state, fees=[replace(state.fees[0], fee_amount=500, paid_amount=500), state.fees[1]])
        [changed] = recompute(without_card, REGION, NOW).overcharge_changes
        assert isinstance(changed, OverchargeChanged) and changed.amount == 0

    def test_deleting_the_overcharged_fee_closes_its_overcharge(self) -> None:
        state, _ = self._with_overcharge()
        [changed] = recompute(replace(state, fees=state.fees[:1]), REGION, NOW).overcharge_changes
        assert isinstance(changed, OverchargeChanged) and changed.amount == 0

    def test_paying_less_than_is_due_is_recorded_once_and_never_billed(self) -> None:
        fee = visit(date(2025, 4, 25), 300, paid=100)
        result = recompute(history(fee), REGION, NOW)
        [short] = result.undercharges
        assert short.amount == 200
        assert result.ledger.assessments[fee.fee_id].amount_due == 300
        assert recompute(history_after(history(fee), result), REGION, NOW).undercharges == []


class TestFreeCardStatus:
    """below_limit (ej uppnått), preliminary (still editable for the region's window), final (uppnått),
    expired (utgånget)."""

    def _status(self, on: date, now: datetime, region: RegionSettings = REGION) -> Status:
        fees = history(visit(date(2025, 4, 25), 1450))
        state = history_after(fees, recompute(fees, region, NOW))
        result = recompute(state, region, now)
        return status_on(on, result.ledger, result.cards, region, now)

    def test_below_the_ceiling_the_status_is_below_limit(self) -> None:
        result = recompute(history(visit(date(2025, 4, 25), 300)), REGION, NOW)
        status = status_on(date(2025, 5, 1), result.ledger, result.cards, REGION, NOW)
        assert (status.status, status.standing.remaining) == (FreeCardStatus.BELOW_LIMIT, 1150)

    def test_preliminary_within_the_regions_window_after_it_was_reached(self) -> None:
        assert self._status(date(2025, 5, 1), NOW + timedelta(hours=47)).status is FreeCardStatus.PRELIMINARY

    def test_final_once_the_window_has_passed(self) -> None:
        assert self._status(date(2025, 5, 1), NOW + timedelta(hours=48)).status is FreeCardStatus.FINAL

    def test_a_window_of_zero_makes_it_final_at_once(self) -> None:
        assert self._status(date(2025, 5, 1), NOW, fixed_region(preliminary_window_hours=0)).status is (
            FreeCardStatus.FINAL
        )

    def test_the_window_is_the_one_in_force_on_the_day_the_ceiling_was_reached(self) -> None:
        # 48 h when the ceiling is reached on 25 April; a change to 0 h from 1 May does not shorten it.
        region = RegionSettings.from_toml(
            "format = 1\n[[change]]\neffective_from = 2019-01-01\nceiling = 1450\nchild_age_limit = 18\n"
            'period_mode = "fixed"\npreliminary_window_hours = 48\n'
            "[[change]]\neffective_from = 2025-05-01\npreliminary_window_hours = 0\n"
        )
        assert self._status(date(2025, 5, 1), NOW + timedelta(hours=47), region).status is FreeCardStatus.PRELIMINARY

    def test_expired_after_its_last_day_while_no_new_period_has_begun(self) -> None:
        status = self._status(date(2026, 4, 25), NOW + timedelta(days=200))
        assert status.status is FreeCardStatus.EXPIRED
        assert status.card_number is not None
