"""The patient's extract (sammanställning): the fees of the current period, to show a provider that is
not connected or another region. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contracts.fee_types import FEE_TYPES
from protection.ledger import Basis, Fee, Ledger, replay_order
from protection.recompute import Status


@dataclass(frozen=True)
class ExtractLine:
    fee_id: UUID
    visit_date: date
    care_unit: str
    fee_type: str
    fee_type_name: str
    """In Swedish, as printed."""
    fee_amount: int
    amount_due: int
    counted: int
    basis: Basis
    version: int = 1
    """The fee's version assessed."""


@dataclass(frozen=True)
class Extract:
    as_of: date
    status: Status
    period_start: date | None
    lines: list[ExtractLine]


def extract(fees: list[Fee], ledger: Ledger, status: Status, today: date) -> Extract:
    """The fees from the start of the period that applies today (the free card's period, or the running
    one) up to today; with no period, nothing."""
    start = status.standing.period_start
    lines = [
        ExtractLine(
            fee.fee_id,
            fee.visit_date,
            fee.care_unit,
            fee.fee_type,
            FEE_TYPES[fee.fee_type].name_sv,
            fee.fee_amount,
            ledger.assessments[fee.fee_id].amount_due,
            ledger.assessments[fee.fee_id].counted,
            ledger.assessments[fee.fee_id].basis,
            fee.version,
        )
        for fee in sorted(fees, key=replay_order)
        if start is not None and start <= fee.visit_date <= today and fee.fee_id in ledger.assessments
    ]
    return Extract(today, status, start, lines)
