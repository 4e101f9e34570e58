"""Replaying a patient's fees into periods, sums and free cards. Plain Python: no Kafka, no SQL.

The ledger is always the result of replaying the patient's counting fees in visit-date order
(ties by registration time), never of the order in which they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from contracts.fee_types import FEE_TYPES
from protection.ceilings import CeilingSchedule


@dataclass(frozen=True)
class Fee:
    """A fee as the ledger sees it (avgift)."""

    fee_id: UUID
    visit_date: date
    registered_at: datetime
    fee_type: str
    fee_amount: int

    @property
    def counting(self) -> bool:
        """högkostnadsgrundande"""
        return FEE_TYPES[self.fee_type].counting


@dataclass(frozen=True)
class FreeCard:
    """A free card (frikort): valid from the visit that reached the ceiling through the period's last day."""

    period_start: date
    valid_from: date
    valid_to: date


@dataclass
class Period:
    """A twelve-month period (tolvmånadersperiod) of the high-cost protection."""

    start: date
    ceiling: int
    total: int = 0
    free_card: FreeCard | None = None

    @property
    def last_day(self) -> date:
        return anniversary(self.start) - timedelta(days=1)


@dataclass
class Ledger:
    periods: list[Period] = field(default_factory=list)
    amount_due: dict[UUID, int] = field(default_factory=dict)
    counted: dict[UUID, int] = field(default_factory=dict)

    def period_on(self, day: date) -> Period | None:
        for period in reversed(self.periods):
            if period.start <= day <= period.last_day:
                return period
        return None


def anniversary(start: date) -> date:
    """The first anniversary; 29 February's is 1 March in a year without one."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:
        return date(start.year + 1, 3, 1)


def replay(fees: list[Fee], ceilings: CeilingSchedule) -> Ledger:
    ledger = Ledger()
    current: Period | None = None
    for fee in sorted(fees, key=lambda f: (f.visit_date, f.registered_at)):
        if not fee.counting:
            ledger.amount_due[fee.fee_id] = fee.fee_amount
            ledger.counted[fee.fee_id] = 0
            continue
        if current is None or fee.visit_date > current.last_day:
            current = Period(start=fee.visit_date, ceiling=ceilings.on(fee.visit_date))
            ledger.periods.append(current)
        if current.free_card is not None:
            due = 0
        else:
            # A new ceiling (1 January) applies to a running period that has not reached a free card.
            current.ceiling = ceilings.on(fee.visit_date)
            due = max(0, min(fee.fee_amount, current.ceiling - current.total))
            current.total += due
            if current.total >= current.ceiling:
                current.free_card = FreeCard(current.start, fee.visit_date, current.last_day)
        ledger.amount_due[fee.fee_id] = due
        ledger.counted[fee.fee_id] = due
    return ledger
