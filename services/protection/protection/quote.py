"""A quote (what a visit would cost on a date): the patient's fees replayed with the visit inserted in
visit-date order, by the very rules that assess a registered fee, and nothing recorded. Plain Python."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from protection.ledger import Assessment, Fee, replay
from protection.recompute import PatientHistory, Status, recompute, status_on
from protection.regions import RegionSettings


@dataclass(frozen=True)
class Visit:
    """The visit asked about (besök): what a fee for it would say."""

    visit_date: date
    care_unit: str
    fee_type: str
    fee_amount: int
    birth_date: date


@dataclass(frozen=True)
class Quote:
    """What the visit would cost, and where the patient would stand after it."""

    assessment: Assessment
    reaches_ceiling: bool
    """This visit would make the free card (the period's sum reaches the ceiling with it)."""
    free_card_applies: bool
    """A free card already covers the visit's day."""
    status: Status
    """Where the patient would stand on the visit's day, the visit included."""
    card_number: str | None
    """The number of the free card that would apply, when it is one already issued."""


def quote(history: PatientHistory, visit: Visit, region: RegionSettings, now: datetime) -> Quote:
    """The visit assessed as if registered now: last among the fees of its day, as a fee registered now is."""
    fee = Fee(uuid.uuid4(), visit.visit_date, now, visit.fee_type, visit.fee_amount, visit.birth_date, visit.care_unit)
    covered_before = replay(history.fees, region).card_on(visit.visit_date) is not None
    with_visit = PatientHistory([*history.fees, fee], history.issued_cards, history.overcharges, history.undercharges)
    result = recompute(with_visit, region, now)
    status = status_on(visit.visit_date, result.ledger, result.cards, region, now)
    card = result.ledger.card_on(visit.visit_date)
    issued = {c.number for c in history.issued_cards}
    return Quote(
        assessment=result.ledger.assessments[fee.fee_id],
        reaches_ceiling=card is not None and not covered_before and card.valid_from == visit.visit_date,
        free_card_applies=covered_before,
        status=status,
        card_number=status.card_number if status.card_number in issued else None,
    )
