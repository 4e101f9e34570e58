"""Overcharges (överdebiteringar) and undercharges, per fee and unit. Plain Python.

An overcharge is a fee the patient paid more for than is now due, for example because a late
receipt shows that the free card applied. The unit that charged it owes the refund (the region does
not refund other providers' overcharges); it stays open until the unit marks it refunded. An
undercharge (paid less than now due) is recorded for follow-up and never billed to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from contracts.ids import time_ordered_id
from protection.ledger import Fee, Ledger


class OverchargeState(StrEnum):
    OPEN = "open"
    REFUNDED = "refunded"
    """The unit marked it refunded (återbetald)."""
    CLOSED = "closed"
    """A later change means nothing is owed after all."""


@dataclass(frozen=True)
class Overcharge:
    """One overcharge as recorded."""

    overcharge_id: UUID
    fee_id: UUID
    care_unit: str
    amount: int
    state: OverchargeState


@dataclass(frozen=True)
class OverchargeFound:
    overcharge_id: UUID
    fee: Fee
    amount_due: int
    amount: int


@dataclass(frozen=True)
class OverchargeChanged:
    before: Overcharge
    amount_due: int
    amount: int
    """0 closes it: nothing is owed any more."""


@dataclass(frozen=True)
class UnderchargeRecorded:
    fee: Fee
    amount_due: int
    amount: int


OverchargeChange = OverchargeFound | OverchargeChanged


def owed(fee: Fee, amount_due: int) -> int:
    """What the unit owes the patient for this fee now (0 when nothing)."""
    return 0 if fee.paid_amount is None else max(0, fee.paid_amount - amount_due)


def reconcile(fees: list[Fee], ledger: Ledger, recorded: list[Overcharge]) -> list[OverchargeChange]:
    """What must be published so that the recorded overcharges say what each fee's unit owes now.

    A refunded amount stays refunded: only what is owed beyond it is a new overcharge.
    """
    by_fee: dict[UUID, list[Overcharge]] = {}
    for overcharge in recorded:
        by_fee.setdefault(overcharge.fee_id, []).append(overcharge)
    changes: list[OverchargeChange] = []
    assessments = ledger.assessments
    for fee in fees:
        assessment = assessments.get(fee.fee_id)
        due = assessment.amount_due if assessment is not None else (fee.paid_amount or 0)
        records = by_fee.get(fee.fee_id) if by_fee else None
        if records is None:
            # The common case, kept cheap: nothing recorded, so only a new overcharge can arise.
            if fee.paid_amount is not None and fee.paid_amount > due:
                changes.append(OverchargeFound(time_ordered_id(), fee, due, fee.paid_amount - due))
            continue
        refunded = 0
        open_one: Overcharge | None = None
        for record in records:  # one pass: this loop runs for every fee on every recomputation
            if record.state is OverchargeState.REFUNDED:
                refunded += record.amount
            elif open_one is None and record.state is OverchargeState.OPEN:
                open_one = record
        outstanding = max(0, owed(fee, due) - refunded)
        if open_one is not None:
            if outstanding != open_one.amount:
                changes.append(OverchargeChanged(open_one, due, outstanding))
        elif outstanding > 0:
            changes.append(OverchargeFound(time_ordered_id(), fee, due, outstanding))
    # A deleted fee is no longer assessed: what was open for it closes.
    open_ones = [o for o in recorded if o.state is OverchargeState.OPEN]
    if open_ones:
        present = {fee.fee_id for fee in fees}
        changes.extend(OverchargeChanged(o, 0, 0) for o in open_ones if o.fee_id not in present)
    return changes


def undercharges(fees: list[Fee], ledger: Ledger, recorded: dict[UUID, int]) -> list[UnderchargeRecorded]:
    """Fees the patient paid less for than is now due, where the shortfall differs from the one recorded."""
    found: list[UnderchargeRecorded] = []
    assessments = ledger.assessments
    for fee in fees:
        if fee.paid_amount is None:
            continue
        assessment = assessments.get(fee.fee_id)
        if assessment is None or assessment.amount_due <= fee.paid_amount:
            continue
        short = assessment.amount_due - fee.paid_amount
        if short != recorded.get(fee.fee_id, 0):
            found.append(UnderchargeRecorded(fee, assessment.amount_due, short))
    return found
