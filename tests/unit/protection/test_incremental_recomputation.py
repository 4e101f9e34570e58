"""Recomputing from the ledger's checkpoint (issue 17) gives exactly what replaying the whole history gives.

Random histories are built one change at a time as the service sees them: registrations (late ones
before the checkpoint too), corrections that move a visit, deletions, refunds marked. After each change
the same history is recomputed twice: in full, and the way the fee handler does, from the stored
checkpoint with only what lies after it (the store's tail read, done here in plain Python, same rule).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from contracts.events import FeeRegistered
from protection.free_cards import CardIssued, CardMoved, CardRevoked
from protection.ledger import Checkpoint, Fee, ReplayPosition, replay_order
from protection.ledger_changes import outcome, patient_changes, status_document
from protection.overcharges import OverchargeChanged, OverchargeFound, OverchargeState
from protection.recompute import PatientHistory, Recomputation, history_after, recompute, start_of
from protection.regions import RegionSettings
from tests.unit.protection.fees import REGION, fixed_region

NOW = datetime(2027, 6, 1, 9, tzinfo=UTC)
TODAY = NOW.date()
FIRST_DAY = date(2021, 1, 1)
DAYS = (TODAY - FIRST_DAY).days - 1
FEE_TYPES = ["doctor_visit", "doctor_visit", "other_staff_visit", "missed_appointment", "certificate"]
BORN = [date(1985, 4, 12), date(1985, 4, 12), date(2008, 2, 29), date(1942, 3, 1)]


@dataclass
class Ledgers:
    """The fee rows as the store holds them (deleted ones kept), what was recorded, the stored checkpoint."""

    region: RegionSettings
    born: date
    rows: dict[UUID, Fee] = field(default_factory=dict)
    deleted: set[UUID] = field(default_factory=set)
    recorded: PatientHistory = field(default_factory=lambda: PatientHistory([], [], [], {}))
    checkpoint: Checkpoint | None = None
    published: dict[str, Any] | None = None
    registered: int = 0

    def full(self) -> PatientHistory:
        live = [fee for fee_id, fee in self.rows.items() if fee_id not in self.deleted]
        return dataclasses.replace(self.recorded, fees=live, start=None)

    def tail(self, start: Checkpoint | None) -> PatientHistory:
        """What `store.histories` reads from `start` on: fees after it, and the overcharges and
        undercharges of fees after it, deleted ones included."""
        if start is None:
            return self.full()
        after = {fee_id for fee_id, fee in self.rows.items() if replay_order(fee) > start.after}
        return PatientHistory(
            [fee for fee_id, fee in self.rows.items() if fee_id in after and fee_id not in self.deleted],
            self.recorded.issued_cards,
            [o for o in self.recorded.overcharges if o.fee_id in after],
            {fee_id: short for fee_id, short in self.recorded.undercharges.items() if fee_id in after},
            start,
        )

    def position(self, fee_id: UUID) -> list[ReplayPosition]:
        return [replay_order(self.rows[fee_id])] if fee_id in self.rows else []

    def new_fee(self, data: st.DataObject) -> Fee:
        self.registered += 1
        return Fee(
            data.draw(st.uuids()),
            FIRST_DAY + timedelta(days=data.draw(st.integers(0, DAYS))),
            datetime(2021, 1, 1, tzinfo=UTC) + timedelta(minutes=self.registered),
            data.draw(st.sampled_from(FEE_TYPES)),
            data.draw(st.sampled_from([0, 100, 200, 300, 400, 1000, 1450])),
            self.born,
            data.draw(st.sampled_from(["U-A", "U-B"])),
            data.draw(st.none() | st.sampled_from([0, 200, 300, 1000])),
        )

    def change(self, data: st.DataObject) -> tuple[UUID, Fee | None]:
        """Register, correct (any field a correction may move) or delete a fee: the fee and its new row."""
        live = sorted(set(self.rows) - self.deleted)
        kind = data.draw(st.sampled_from(["register", "register", "correct", "delete"] if live else ["register"]))
        if kind == "register":
            fee = self.new_fee(data)
            return fee.fee_id, fee
        fee_id = data.draw(st.sampled_from(live))
        if kind == "delete":
            return fee_id, None
        other = self.new_fee(data)
        # The row keeps its registration time and what was paid (or charged).
        corrected = dataclasses.replace(
            self.rows[fee_id], visit_date=other.visit_date, fee_type=other.fee_type, fee_amount=other.fee_amount
        )
        return fee_id, dataclasses.replace(corrected, version=corrected.version + 1)


def comparable(result: Recomputation) -> dict[str, Any]:
    """A recomputation without what is random (new card numbers, overcharge ids)."""
    cards = []
    for change in result.card_changes:
        match change:
            case CardIssued(card=card):
                cards.append(("issued", card))
            case CardMoved(before=before, card=card):
                cards.append(("moved", before, card))
            case CardRevoked(before=before):
                cards.append(("revoked", before))
    overcharges = []
    for found_or_changed in result.overcharge_changes:
        match found_or_changed:
            case OverchargeFound(fee=fee, amount_due=due, amount=amount):
                overcharges.append(("found", fee, due, amount))
            case OverchargeChanged(before=before, amount_due=due, amount=amount):
                overcharges.append(("changed", before, due, amount))
    return {
        "cards": cards,
        "overcharges": sorted(overcharges, key=repr),
        "undercharges": sorted(result.undercharges, key=repr),
        "charged": result.charged,
        "issued": [(c.period_start, c.valid_from, c.valid_to, c.ceiling) for c in result.cards],
    }


def without_numbers(answer: BaseModel | None) -> dict[str, Any] | None:
    """An outcome or status without the free card's number (a new card's number is random)."""
    if answer is None:
        return None
    document = answer.model_dump()
    summary = document.get("protection", document)
    if summary.get("free_card") is not None:
        summary["free_card"].pop("number")
    return document


def check_one_change(ledgers: Ledgers, data: st.DataObject) -> None:
    fee_id, row = ledgers.change(data)
    before = ledgers.position(fee_id)
    if row is None:
        ledgers.deleted.add(fee_id)
    else:
        ledgers.rows[fee_id] = row
    start = start_of(ledgers.checkpoint, [*before, *ledgers.position(fee_id)], TODAY)
    full = recompute(ledgers.full(), ledgers.region, NOW)
    incremental = recompute(ledgers.tail(start), ledgers.region, NOW)

    tail_fees = {fee.fee_id for fee in ledgers.tail(start).fees}
    assert incremental.ledger.assessments == {k: a for k, a in full.ledger.assessments.items() if k in tail_fees}
    assert comparable(incremental) == comparable(full)
    assert incremental.ledger.checkpoint == full.ledger.checkpoint
    full_changes = patient_changes("p", full, ledgers.published, ledgers.checkpoint, TODAY, NOW)
    incremental_changes = patient_changes("p", incremental, ledgers.published, ledgers.checkpoint, TODAY, NOW)
    assert without_numbers(incremental_changes.status) == without_numbers(full_changes.status)
    if row is not None and row.version == 1:
        fee = FeeRegistered.model_construct(submission_id="s", fee_id=row.fee_id, visit_date=row.visit_date)
        assert without_numbers(outcome(fee, incremental, ledgers.region, NOW)) == without_numbers(
            outcome(fee, full, ledgers.region, NOW)
        )

    # Move on from what the service records: the full result's changes (they are the same), the
    # checkpoint of the incremental one.
    ledgers.recorded = history_after(ledgers.full(), full)
    ledgers.rows.update({fee.fee_id: fee for fee in ledgers.recorded.fees})
    ledgers.checkpoint = incremental.ledger.checkpoint
    if full_changes.status is not None:
        ledgers.published = status_document(full_changes.status)
    open_ones = [o for o in ledgers.recorded.overcharges if o.state is OverchargeState.OPEN]
    if open_ones and data.draw(st.booleans()):
        refunded = data.draw(st.sampled_from(open_ones))
        ledgers.recorded = dataclasses.replace(
            ledgers.recorded,
            overcharges=[
                dataclasses.replace(o, state=OverchargeState.REFUNDED) if o == refunded else o
                for o in ledgers.recorded.overcharges
            ],
        )


@settings(max_examples=120, deadline=None)
@given(st.data(), st.sampled_from([REGION, fixed_region()]), st.sampled_from(BORN), st.integers(5, 40))
def test_recomputing_from_the_checkpoint_gives_what_a_full_replay_gives(
    data: st.DataObject, region: RegionSettings, born: date, changes: int
) -> None:
    ledgers = Ledgers(region, born)
    for _ in range(changes):
        check_one_change(ledgers, data)
