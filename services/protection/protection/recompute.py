"""Recomputation after any change: replay the patient's fees and say what differs from what was published.

Plain Python: the handler loads a `PatientHistory`, calls `recompute`, and stores and publishes what
comes back. Recomputing an unchanged history yields no changes, which is what makes delivering any
event twice harmless.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from contracts.integration import FreeCardStatus, FreeCardSummary
from protection import free_cards, overcharges
from protection.free_cards import CardChange, CardIssued, CardMoved, IssuedCard
from protection.ledger import Checkpoint, Fee, FreeCard, Ledger, ReplayPosition, Standing, replay
from protection.overcharges import (
    Overcharge,
    OverchargeChange,
    OverchargeFound,
    OverchargeState,
    UnderchargeRecorded,
)
from protection.regions import RegionSettings


@dataclass(frozen=True)
class PatientHistory:
    """What protection holds about one patient."""

    fees: list[Fee]
    """The latest version of every fee that is not deleted."""
    issued_cards: list[IssuedCard]
    """Free cards issued and not revoked."""
    overcharges: list[Overcharge]
    undercharges: dict[UUID, int]
    """The shortfall last recorded per fee."""
    start: Checkpoint | None = None
    """Where the replay starts (None: from the first fee). With a start, `fees`, `overcharges` and
    `undercharges` are only those of fees after its position (deleted ones too, for their overcharges);
    `issued_cards` are all, as status needs them."""


@dataclass(frozen=True)
class Status:
    """Where the patient stands on a day (status enligt källsystemet)."""

    status: FreeCardStatus
    standing: Standing
    card_number: str | None
    card_status: FreeCardStatus | None

    def free_card_summary(self) -> FreeCardSummary | None:
        """The free card that applies on the day, as the integration contract shows it."""
        card = self.standing.free_card
        if card is None or self.card_number is None or self.card_status is None:
            return None
        return FreeCardSummary(
            number=self.card_number, valid_from=card.valid_from, valid_to=card.valid_to, status=self.card_status
        )


@dataclass(frozen=True)
class Recomputation:
    ledger: Ledger
    fees: list[Fee]
    """The fees, each now with what the patient paid (what was due, for those just assessed the first time)."""
    charged: dict[UUID, int]
    """Fees assessed for the first time without a paid amount: the patient pays what is due now."""
    card_changes: list[CardChange]
    cards: list[IssuedCard]
    """The free cards once the changes are applied."""
    overcharge_changes: list[OverchargeChange]
    undercharges: list[UnderchargeRecorded]
    region: RegionSettings


def start_of(stored: Checkpoint | None, changed: list[ReplayPosition], today: date) -> Checkpoint | None:
    """The checkpoint a patient's recomputation may start from: the one stored, unless a fee changed at
    or before it (a late fee, a correction moving a visit from or to before it, a deletion there: then
    the whole history is replayed) or it lies after today (status is asked for today)."""
    if stored is None or stored.after.visit_date > today:
        return None
    if any(position <= stored.after for position in changed):
        return None
    return stored


def recompute(history: PatientHistory, region: RegionSettings, now: datetime) -> Recomputation:
    ledger = replay(history.fees, region, history.start)
    # A fee registered without a paid amount is paid as assessed now; later changes are measured
    # against that, which is how a late receipt turns an earlier payment into an overcharge.
    charged: dict[UUID, int] = {}
    fees = history.fees
    if any(fee.paid_amount is None for fee in fees):
        charged = {fee.fee_id: ledger.assessments[fee.fee_id].amount_due for fee in fees if fee.paid_amount is None}
        fees = [
            dataclasses.replace(fee, paid_amount=charged[fee.fee_id]) if fee.paid_amount is None else fee
            for fee in fees
        ]
    card_changes = free_cards.reconcile(cards_from(history.start, history.issued_cards), ledger.free_cards)
    return Recomputation(
        ledger=ledger,
        fees=fees,
        charged=charged,
        card_changes=card_changes,
        cards=_applied(history.issued_cards, card_changes, now),
        overcharge_changes=overcharges.reconcile(fees, ledger, history.overcharges),
        undercharges=overcharges.undercharges(fees, ledger, history.undercharges),
        region=region,
    )


def history_after(history: PatientHistory, result: Recomputation) -> PatientHistory:
    """The history once the store has recorded a recomputation of it: what the next one starts from."""
    recorded = {overcharge.overcharge_id: overcharge for overcharge in history.overcharges}
    for change in result.overcharge_changes:
        if isinstance(change, OverchargeFound):
            recorded[change.overcharge_id] = Overcharge(
                change.overcharge_id, change.fee.fee_id, change.fee.care_unit, change.amount, OverchargeState.OPEN
            )
        else:
            recorded[change.before.overcharge_id] = dataclasses.replace(
                change.before, amount=change.amount, state=overcharge_state_after(change.amount)
            )
    undercharges = {**history.undercharges, **{short.fee.fee_id: short.amount for short in result.undercharges}}
    return PatientHistory(result.fees, result.cards, list(recorded.values()), undercharges, history.start)


def cards_from(start: Checkpoint | None, issued: list[IssuedCard]) -> list[IssuedCard]:
    """The issued cards a replay from `start` reconciles: the checkpoint's card and later ones. Earlier
    cards are settled: they equal the earlier replay's cards, which nothing after `start` can change."""
    if start is None or start.card is None:
        return issued
    return [card for card in issued if card.valid_from >= start.card.valid_from]


def overcharge_state_after(amount: int) -> OverchargeState:
    """An overcharge changed to owe nothing is closed; one that still owes something stays open."""
    return OverchargeState.OPEN if amount > 0 else OverchargeState.CLOSED


def _applied(issued: list[IssuedCard], changes: list[CardChange], now: datetime) -> list[IssuedCard]:
    cards = {card.number: card for card in issued}
    for change in changes:
        if isinstance(change, CardIssued):
            cards[change.number] = issued_card(change.number, change.card, now)
        elif isinstance(change, CardMoved):
            # The same card with new dates: its preliminary window still runs from when it was first reached.
            cards[change.before.number] = issued_card(change.before.number, change.card, change.before.issued_at)
        else:
            del cards[change.before.number]
    return sorted(cards.values(), key=lambda c: c.valid_from)


def issued_card(number: str, card: FreeCard, now: datetime) -> IssuedCard:
    return IssuedCard(number, card.period_start, card.valid_from, card.valid_to, card.ceiling, now)


def status_on(day: date, ledger: Ledger, cards: list[IssuedCard], region: RegionSettings, now: datetime) -> Status:
    """The patient's status on `day`: a free card that applies (preliminary or final), a card that has
    run out with no new period begun (expired), or below the limit."""
    standing = ledger.standing_on(day, region)
    if standing.free_card is not None:
        card = issued_for(cards, standing.free_card)
        number = card.number if card is not None else None
        issued_at = card.issued_at if card is not None else now
        # The preliminary window is the one in force on the day the ceiling was reached.
        window = region.on(standing.free_card.valid_from).preliminary_window_hours
        status = free_cards.status_of(standing.free_card, issued_at, day, now, window)
        return Status(status, standing, number, status)
    earlier = [c for c in cards if c.valid_to < day]
    if earlier and standing.sum == 0:
        return Status(FreeCardStatus.EXPIRED, standing, earlier[-1].number, FreeCardStatus.EXPIRED)
    return Status(FreeCardStatus.BELOW_LIMIT, standing, None, None)


def issued_for(cards: list[IssuedCard], card: FreeCard) -> IssuedCard | None:
    return next((c for c in cards if c.valid_from == card.valid_from and c.period_start == card.period_start), None)
