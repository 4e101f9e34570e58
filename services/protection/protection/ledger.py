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
    version: int = 1
    """The fee's version this is (registration's ETag): a correction is a later one."""

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


class CountedFee(NamedTuple):
    """A fee counted in a period."""

    fee: Fee
    added: int
    """What it added to the period's sum: what the patient is due for it."""
    last_day: date
    """Its last day in a rolling twelve-month window: the day before its visit's first anniversary."""


@dataclass
class Period:
    """A twelve-month period (tolvmånadersperiod): the counted fees that share one start."""

    start: date
    ceiling: int
    total: int = 0
    free_card: FreeCard | None = None
    fees: list[CountedFee] = field(default_factory=list)
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


class ReplayPosition(NamedTuple):
    """Where a fee stands in the replay: visit date, then registration time, then fee id."""

    visit_date: date
    registered_at: datetime
    fee_id: UUID


@dataclass(frozen=True)
class Checkpoint:
    """The ledger's settled part (avslutad del): the last fee of a replay after which no period was running.

    After such a fee the replay carries nothing into the next fee but the last free card reached, so
    the fees after it replay the same from `card` alone, as long as no fee at or before `after` changes.
    """

    after: ReplayPosition
    card: FreeCard | None
    """The last free card reached at or before `after` (None: none yet)."""


@dataclass
class Ledger:
    periods: list[Period] = field(default_factory=list)
    assessments: dict[UUID, Assessment] = field(default_factory=dict)
    carried: FreeCard | None = None
    """A replay from a checkpoint: the checkpoint's free card, reached before the fees replayed."""
    checkpoint: Checkpoint | None = None
    """The last point of this replay after which no period was running (None: there was none)."""

    @property
    def free_cards(self) -> list[FreeCard]:
        cards = [p.free_card for p in self.periods if p.free_card is not None]
        return [self.carried, *cards] if self.carried is not None else cards

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
        counted: list[CountedFee] = []
        for period in self.periods:
            if period.free_card is not None:
                continue  # its fees never count again
            if rules.period_mode is PeriodMode.FIXED:
                if period.start <= day <= period.last_day:
                    counted = [c for c in period.fees if c.fee.visit_date <= day]
            else:
                counted.extend(c for c in period.fees if c.fee.visit_date <= day <= c.last_day)
        total = sum(c.added for c in counted)
        start = min((c.fee.visit_date for c in counted), default=None)
        return Standing(start, ceiling, total, max(0, ceiling - total), None)


def replay_order(fee: Fee) -> ReplayPosition:
    return ReplayPosition(fee.visit_date, fee.registered_at, fee.fee_id)


_COUNTING = frozenset(code for code, fee_type in FEE_TYPES.items() if fee_type.counting)
# Looked up once here rather than on the enum for every fee replayed.
_COUNTED, _NOT_COUNTING = Basis.COUNTED, Basis.NOT_COUNTING
_AGED_85_OR_OVER = Assessment(0, 0, Basis.AGED_85_OR_OVER)
_CHILD = Assessment(0, 0, Basis.CHILD)
_COVERED_BY_FREE_CARD = Assessment(0, 0, Basis.FREE_CARD)


class AgeLimits(NamedTuple):
    """The days between which a patient's visits are not free by age."""

    child_until: date
    """The birthday at the region's child age limit: visits before it are free."""
    free_from: date
    """The 85th birthday: visits from it on are free (by law)."""

    def free_by_age(self, visit: date) -> Assessment | None:
        """What a visit free by age costs (nothing), or None when the patient's age does not make it free."""
        if visit >= self.free_from:
            return _AGED_85_OR_OVER
        if visit < self.child_until:
            return _CHILD
        return None


class RulesInForce:
    """The region's rules and a patient's age limits on a visit date, for a replay in visit-date order:
    looked up again only when the visit date passes a change of the region's settings, or the birth
    date differs (replay asks for every fee)."""

    __slots__ = ("_born", "_region", "_rules_until", "ages", "rules")

    def __init__(self, region: RegionSettings) -> None:
        self._region = region
        self.rules: RegionRules | None = None
        self._rules_until = date.min
        self._born: date | None = None
        self.ages = AgeLimits(date.min, date.min)

    def on(self, visit: date, born: date) -> RegionRules:
        """The rules in force on `visit`; `ages` then holds the age limits of someone born on `born`."""
        rules = self.rules
        if rules is None or visit >= self._rules_until:
            rules = self.rules = self._region.on(visit)
            self._rules_until = self._region.next_change_after(visit)
            self._born = None
        if born != self._born:
            self._born = born
            self.ages = AgeLimits(birthday(born, rules.child_age_limit), birthday(born, FREE_FROM_AGE))
        return rules


@dataclass(slots=True)
class RunningPeriod:
    """The period counted into while replaying: not yet at the ceiling."""

    period: Period
    ends: date
    """Fixed mode: the last day of the period as it started."""
    window: deque[CountedFee]
    """Rolling mode: its counted fees still inside the twelve months, oldest first."""

    @classmethod
    def started_on(cls, visit: date, ceiling: int) -> RunningPeriod:
        """A period starts on the visit date of the first counting fee not covered by a free card."""
        return cls(Period(start=visit, ceiling=ceiling), last_day(visit), deque())

    def still_running_on(self, visit: date, mode: PeriodMode) -> RunningPeriod | None:
        """This period, if a visit on `visit` still counts into it; else None (the next period starts).

        Fixed: until the period's last day. Rolling: while some of its fees are inside the twelve months
        up to the visit; fees older than that drop out, and the start moves to the oldest fee left.
        """
        if mode is PeriodMode.FIXED:
            return self if visit <= self.ends else None
        window, period = self.window, self.period
        while window and window[0].last_day < visit:
            period.total -= window.popleft().added
        if not window:
            return None
        period.start = window[0].fee.visit_date
        return self

    def charge(self, fee: Fee, ceiling: int) -> int:
        """What the patient is due for a counted fee, added to the period's sum: the tariff fee, but no
        more than is left to the ceiling on the visit date (partial payment), never below zero."""
        period = self.period
        # A new ceiling (1 January) applies to a running period that has not reached a free card.
        period.ceiling = ceiling
        due = max(0, min(fee.fee_amount, ceiling - period.total))
        period.total += due
        counted = CountedFee(fee, due, last_day(fee.visit_date))
        period.fees.append(counted)
        self.window.append(counted)
        return due

    def free_card(self, visit: date) -> FreeCard:
        """The free card of a period whose sum reached the ceiling at `visit`: valid from that visit
        through the period's last day."""
        period = self.period
        card = FreeCard(period.start, visit, last_day(period.start), period.ceiling)
        period.free_card = card
        return card


def replay(fees: list[Fee], region: RegionSettings, start: Checkpoint | None = None) -> Ledger:
    """The ledger that DOMAIN.md's rules make of these fees; from `start` on, when given, with `fees` the
    fees after its position (the tail).

    A tail's ledger answers `standing_on(day)` for days on or after `start.after.visit_date`: no period
    was running after that fee, so every period that did not reach a card had already run out before it
    (its fees outside the twelve months, or its fixed end passed) and can count on no later day; every
    free card before the carried one ran out before the carried one's period began. Only the carried
    card, which it keeps, can still apply.

    Written for speed as well as reading (a patient with hundreds of fees is recomputed on every
    change): the region's rules and the age limits are looked up only when the date passes a change.
    """
    card = start.card if start is not None else None
    ledger = Ledger(carried=card, checkpoint=start)
    assessments = ledger.assessments
    in_force = RulesInForce(region)
    running: RunningPeriod | None = None
    settled: Fee | None = None
    for fee in sorted(fees, key=replay_order):
        if fee.fee_type not in _COUNTING:
            assessments[fee.fee_id] = Assessment(fee.fee_amount, 0, _NOT_COUNTING)
        else:
            visit = fee.visit_date
            rules = in_force.on(visit, fee.birth_date)
            free_by_age = in_force.ages.free_by_age(visit)
            if free_by_age is not None:
                # Registered with 0 to pay, and it does not start a period.
                assessments[fee.fee_id] = free_by_age
            elif card is not None and card.valid_from <= visit <= card.valid_to:
                assessments[fee.fee_id] = _COVERED_BY_FREE_CARD
            else:
                if running is not None:
                    running = running.still_running_on(visit, rules.period_mode)
                if running is None:
                    running = RunningPeriod.started_on(visit, rules.ceiling)
                    ledger.periods.append(running.period)
                due = running.charge(fee, rules.ceiling)
                assessments[fee.fee_id] = Assessment(due, due, _COUNTED)
                if running.period.total >= rules.ceiling:
                    card = running.free_card(visit)
                    running = None
        if running is None:
            settled = fee
    if settled is not None:
        # The card can change only where no period runs after it, so it is the card at `settled` too.
        ledger.checkpoint = Checkpoint(replay_order(settled), card)
    return ledger
