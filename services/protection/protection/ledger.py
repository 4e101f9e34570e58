"""Replaying a patient's fees into periods, sums and free cards. Plain Python: no Kafka, no SQL.

The ledger is always the result of replaying the patient's fees in visit-date order (ties by
registration time), never of the order in which they arrived, so recomputing after any change
(a late fee, a correction, a deletion) is replaying again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID

from contracts.fee_types import FEE_TYPES
from protection.age import FREE_FROM_AGE, birthday
from protection.regions import PeriodMode, RegionRules, RegionSettings

_ONE_DAY = timedelta(days=1)


def anniversary(start: date) -> date:
    """The first anniversary; 29 February's is 1 March in a year without one."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:
        return date(start.year + 1, 3, 1)


def last_day(start: date) -> date:
    """A period's last day: the day before the first anniversary of its start."""
    return anniversary(start) - _ONE_DAY


@dataclass(frozen=True)
class Fee:
    """A fee as the ledger sees it (avgift): its latest version."""

    fee_id: UUID
    visit_date: date
    registered_at: datetime
    fee_type: str
    fee_amount: int
    birth_date: date
    care_unit: str = ""
    paid_amount: int | None = None
    """What the patient paid for it: as registered, or what was due when it was first assessed."""

    @property
    def counting(self) -> bool:
        """högkostnadsgrundande: counts towards the ceiling and is covered by a free card."""
        return FEE_TYPES[self.fee_type].counting


class Basis(StrEnum):
    """Why a fee costs what it does."""

    COUNTED = "counted"
    """Due in full or in part, and added to the period's sum."""
    FREE_CARD = "free_card"
    AGED_85_OR_OVER = "aged_85_or_over"
    CHILD = "child"
    NOT_COUNTING = "not_counting"
    """Outside the high-cost protection: due in full, never counted, not covered by a free card."""


class Assessment(NamedTuple):
    """What one fee costs the patient now."""

    amount_due: int
    counted: int
    basis: Basis


@dataclass(frozen=True)
class FreeCard:
    """A free card (frikort): valid from the visit that reached the ceiling through the period's last day."""

    period_start: date
    valid_from: date
    valid_to: date
    ceiling: int

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass
class Period:
    """A twelve-month period (tolvmånadersperiod): the counted fees that share one start."""

    start: date
    ceiling: int
    total: int = 0
    free_card: FreeCard | None = None
    fees: list[tuple[Fee, int]] = field(default_factory=list)
    """Each counted fee with the amount it added (in rolling mode also those that have since dropped out)."""

    @property
    def last_day(self) -> date:
        return last_day(self.start)


@dataclass(frozen=True)
class Standing:
    """Where the patient stands on a day: the running period's sum, or the free card that applies."""

    period_start: date | None
    ceiling: int
    sum: int
    remaining: int
    free_card: FreeCard | None


@dataclass
class Ledger:
    periods: list[Period] = field(default_factory=list)
    assessments: dict[UUID, Assessment] = field(default_factory=dict)

    @property
    def free_cards(self) -> list[FreeCard]:
        return [p.free_card for p in self.periods if p.free_card is not None]

    def card_on(self, day: date) -> FreeCard | None:
        for card in reversed(self.free_cards):
            if card.covers(day):
                return card
        return None

    def standing_on(self, day: date, region: RegionSettings) -> Standing:
        """The free card valid on `day`, or else the sum of the period running on `day`."""
        card = self.card_on(day)
        if card is not None:
            return Standing(card.period_start, card.ceiling, card.ceiling, 0, card)
        ceiling = region.ceiling_on(day)
        rules = region.on(day)
        counted: list[tuple[Fee, int]] = []
        for period in self.periods:
            if period.free_card is not None:
                continue  # its fees never count again
            if rules.period_mode is PeriodMode.FIXED:
                if period.start <= day <= period.last_day:
                    counted = [(f, c) for f, c in period.fees if f.visit_date <= day]
            else:
                counted.extend((f, c) for f, c in period.fees if f.visit_date <= day <= last_day(f.visit_date))
        total = sum(c for _, c in counted)
        start = min((f.visit_date for f, _ in counted), default=None)
        return Standing(start, ceiling, total, max(0, ceiling - total), None)


def replay_order(fee: Fee) -> tuple[date, datetime, UUID]:
    return fee.visit_date, fee.registered_at, fee.fee_id


_COUNTING = frozenset(code for code, fee_type in FEE_TYPES.items() if fee_type.counting)
_NOT_COUNTING, _FREE_CARD, _COUNTED = Basis.NOT_COUNTING, Basis.FREE_CARD, Basis.COUNTED


def replay(fees: list[Fee], region: RegionSettings) -> Ledger:
    """The ledger that DOMAIN.md's rules make of these fees.

    Written for speed as well as reading (a patient with hundreds of fees is recomputed on every
    change): the region's rules and the age limits are looked up only when the date passes a change.
    """
    ledger = Ledger()
    assessments = ledger.assessments
    card: FreeCard | None = None
    period: Period | None = None
    period_end = date.min
    window: deque[tuple[Fee, int, date]] = deque()
    """Rolling mode: the counted fees of the running period, oldest first, each with its own last day."""
    rules: RegionRules | None = None
    rules_until = date.min
    born: date | None = None
    free_from = child_until = date.min

    for fee in sorted(fees, key=replay_order):
        visit = fee.visit_date
        if fee.fee_type not in _COUNTING:
            assessments[fee.fee_id] = Assessment(fee.fee_amount, 0, _NOT_COUNTING)
            continue
        if rules is None or visit >= rules_until:
            rules, rules_until = region.on(visit), region.next_change_after(visit)
            born = None
        if fee.birth_date != born:
            born = fee.birth_date
            free_from, child_until = birthday(born, FREE_FROM_AGE), birthday(born, rules.child_age_limit)
        if visit >= free_from:
            # Free by age: registered with 0 to pay, and it does not start a period.
            assessments[fee.fee_id] = Assessment(0, 0, Basis.AGED_85_OR_OVER)
            continue
        if visit < child_until:
            assessments[fee.fee_id] = Assessment(0, 0, Basis.CHILD)
            continue
        if card is not None and card.valid_from <= visit <= card.valid_to:
            assessments[fee.fee_id] = Assessment(0, 0, _FREE_CARD)
            continue

        if period is not None:
            if rules.period_mode is PeriodMode.FIXED:
                if visit > period_end:
                    period = None
            else:
                while window and window[0][2] < visit:
                    period.total -= window.popleft()[1]
                if window:
                    # The period start moves to the oldest fee still inside the twelve months.
                    period.start = window[0][0].visit_date
                else:
                    period = None
        if period is None:
            period = Period(start=visit, ceiling=rules.ceiling)
            period_end = last_day(visit)
            ledger.periods.append(period)
            window.clear()

        # A new ceiling (1 January) applies to a running period that has not reached a free card.
        ceiling = rules.ceiling
        period.ceiling = ceiling
        due = max(0, min(fee.fee_amount, ceiling - period.total))
        period.total += due
        period.fees.append((fee, due))
        window.append((fee, due, last_day(visit)))
        assessments[fee.fee_id] = Assessment(due, due, _COUNTED)
        if period.total >= ceiling:
            card = FreeCard(period.start, visit, last_day(period.start), ceiling)
            period.free_card = card
            period = None
            window.clear()
    return ledger
