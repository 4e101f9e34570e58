"""Free cards (frikort) across recomputations: which card is the same card, and what status it has.

A recomputation yields the cards the fees now give; the cards already issued have numbers that
patients and units have seen. A new card that overlaps an issued one (or comes from the same period)
is the same card, moved if its dates changed, and keeps its number; an issued card that matches none
is revoked; a new card that matches none is issued. Plain Python.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from contracts.integration import FreeCardStatus
from protection.ledger import FreeCard


@dataclass(frozen=True)
class IssuedCard:
    """A free card as it was last published."""

    number: str
    period_start: date
    valid_from: date
    valid_to: date
    ceiling: int
    issued_at: datetime
    """When the ceiling was first found reached: the preliminary window runs from then."""

    def overlaps(self, card: FreeCard) -> bool:
        return self.valid_from <= card.valid_to and card.valid_from <= self.valid_to

    def same_dates(self, card: FreeCard) -> bool:
        return (self.period_start, self.valid_from, self.valid_to) == (
            card.period_start,
            card.valid_from,
            card.valid_to,
        )


@dataclass(frozen=True)
class CardIssued:
    number: str
    card: FreeCard


@dataclass(frozen=True)
class CardMoved:
    before: IssuedCard
    card: FreeCard


@dataclass(frozen=True)
class CardRevoked:
    before: IssuedCard


CardChange = CardIssued | CardMoved | CardRevoked


def new_number() -> str:
    """Unique (48 random bits, and the store's primary key refuses a repeat) and never reused."""
    return "FK-" + secrets.token_hex(6).upper()


def reconcile(issued: list[IssuedCard], cards: list[FreeCard]) -> list[CardChange]:
    """What must be published so that the issued cards become the cards the fees now give."""
    unmatched = sorted(issued, key=lambda c: c.valid_from)
    changes: list[CardChange] = []
    for card in sorted(cards, key=lambda c: c.valid_from):
        match = next((c for c in unmatched if c.overlaps(card)), None) or next(
            (c for c in unmatched if c.period_start == card.period_start), None
        )
        if match is None:
            changes.append(CardIssued(new_number(), card))
            continue
        unmatched.remove(match)
        if not match.same_dates(card) or match.ceiling != card.ceiling:
            changes.append(CardMoved(match, card))
    changes.extend(CardRevoked(c) for c in unmatched)
    return changes


def status_of(
    card: FreeCard | IssuedCard, issued_at: datetime, today: date, now: datetime, preliminary_window_hours: int
) -> FreeCardStatus:
    """`preliminary` while still editable (the region's window after it was reached), then `final`,
    and `expired` once its last day has passed."""
    if today > card.valid_to:
        return FreeCardStatus.EXPIRED
    if now < issued_at + timedelta(hours=preliminary_window_hours):
        return FreeCardStatus.PRELIMINARY
    return FreeCardStatus.FINAL
