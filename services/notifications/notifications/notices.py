"""What a patient is told, decided from events. Plain Python: no Kafka, no SQL.

A notice (meddelande) is about one cause: the event it reports, or for the close-to-ceiling
notice the patient's period, so that it is told once however many fees come after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from contracts.events import (
    FreeCardIssued,
    FreeCardMoved,
    FreeCardRevoked,
    OverchargeFound,
    PatientStatusChanged,
)
from contracts.integration import FreeCardStatus


class NoticeKind(StrEnum):
    FREE_CARD_ISSUED = "free_card_issued"
    FREE_CARD_MOVED = "free_card_moved"
    FREE_CARD_REVOKED = "free_card_revoked"
    OVERCHARGE_FOUND = "overcharge_found"
    CLOSE_TO_CEILING = "close_to_ceiling"


@dataclass(frozen=True)
class Notice:
    """A notice to one patient about one cause; `facts` are what its texts are written from."""

    patient_key: str
    kind: NoticeKind
    cause: str
    facts: dict[str, Any]


def free_card_issued(event_id: str, event: FreeCardIssued) -> Notice:
    return Notice(
        event.patient_key,
        NoticeKind.FREE_CARD_ISSUED,
        event_id,
        {
            "number": event.number,
            "valid_from": event.valid_from,
            "valid_to": event.valid_to,
            "ceiling": event.ceiling,
        },
    )


def free_card_moved(event_id: str, event: FreeCardMoved) -> Notice:
    return Notice(
        event.patient_key,
        NoticeKind.FREE_CARD_MOVED,
        event_id,
        {
            "number": event.number,
            "valid_from": event.valid_from,
            "valid_to": event.valid_to,
            "previous_valid_from": event.previous_valid_from,
            "previous_valid_to": event.previous_valid_to,
        },
    )


def free_card_revoked(event_id: str, event: FreeCardRevoked) -> Notice:
    return Notice(
        event.patient_key,
        NoticeKind.FREE_CARD_REVOKED,
        event_id,
        {
            "number": event.number,
            "valid_from": event.valid_from,
            "valid_to": event.valid_to,
        },
    )


def overcharge_found(event_id: str, event: OverchargeFound) -> Notice:
    """The unit that charged the fee owes the refund, so it is the one the patient contacts."""
    return Notice(
        event.patient_key,
        NoticeKind.OVERCHARGE_FOUND,
        event_id,
        {
            "care_unit": event.care_unit,
            "amount": event.amount,
            "visit_date": event.visit_date,
            "paid_amount": event.paid_amount,
            "amount_due": event.amount_due,
        },
    )


def close_to_ceiling(event: PatientStatusChanged, threshold_kronor: int | None, today: date) -> Notice | None:
    """Once per period, when the region switched it on, the patient hears that the ceiling is near:
    at most `threshold_kronor` left and no free card yet. A status from a period that has run out
    (read back from the compacted topic, say) tells nothing."""
    if threshold_kronor is None or event.period_start is None:
        return None
    if today >= _one_year_after(event.period_start):
        return None
    if event.status != FreeCardStatus.BELOW_LIMIT or event.free_card is not None:
        return None
    if not 0 < event.remaining <= threshold_kronor:
        return None
    cause = f"close_to_ceiling/{event.period_start.isoformat()}"
    return Notice(
        event.patient_key,
        NoticeKind.CLOSE_TO_CEILING,
        cause,
        {
            "remaining": event.remaining,
            "ceiling": event.ceiling,
            "sum": event.sum,
            "period_start": event.period_start,
        },
    )


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
