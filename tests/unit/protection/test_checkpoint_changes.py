"""What a recomputation records of the ledger's checkpoint (issue 17): only a change. Most fees leave
the checkpoint where it stands, or find none and had none, and then nothing is written for it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from protection.ledger import Checkpoint, Fee
from protection.ledger_changes import PatientChanges, patient_changes
from protection.recompute import recompute
from tests.unit.protection.fees import REGION, history, visit

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
TODAY = date(2026, 11, 30)

# Three 500 kr visits in 2023 end a period; the period they started was over long before the 2025 visit.
SETTLED = [visit(date(2023, 1, 2), 500), visit(date(2023, 2, 2), 500), visit(date(2023, 3, 2), 500)]
LATER = visit(date(2025, 6, 2), 300)


def changes(stored: Checkpoint | None, *fees: Fee) -> PatientChanges:
    result = recompute(history(*fees), REGION, NOW)
    return patient_changes("p", result, None, stored, TODAY, NOW)


def settled_checkpoint() -> Checkpoint:
    checkpoint = recompute(history(*SETTLED, LATER), REGION, NOW).ledger.checkpoint
    assert checkpoint is not None, "the 2023 visits are the ledger's settled part"
    return checkpoint


def test_a_fee_that_leaves_the_stored_checkpoint_where_it_stands_changes_nothing_about_it() -> None:
    assert not changes(settled_checkpoint(), *SETTLED, LATER).checkpoint_changed


def test_a_checkpoint_found_where_none_was_stored_is_a_change() -> None:
    assert changes(None, *SETTLED, LATER).checkpoint_changed


def test_a_checkpoint_found_elsewhere_than_the_stored_one_is_a_change() -> None:
    # A year later three more visits reach the ceiling of a second period, also over by 2025.
    second_year = [visit(date(2024, 2, 1), 500), visit(date(2024, 3, 1), 500), visit(date(2024, 4, 1), 500)]
    found = changes(settled_checkpoint(), *SETTLED, *second_year, LATER)
    assert found.recomputation.ledger.checkpoint not in (None, settled_checkpoint())
    assert found.checkpoint_changed


def test_a_replay_that_finds_no_settled_part_forgets_a_stored_checkpoint() -> None:
    found = changes(settled_checkpoint(), LATER)
    assert found.recomputation.ledger.checkpoint is None
    assert found.checkpoint_changed


def test_a_patient_without_a_settled_part_and_none_stored_has_nothing_to_forget() -> None:
    found = changes(None, LATER)
    assert found.recomputation.ledger.checkpoint is None
    assert not found.checkpoint_changed
