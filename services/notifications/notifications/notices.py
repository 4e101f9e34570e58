"""What a patient is told, decided from events. Plain Python: no Kafka, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.events import FreeCardIssued


class NoticeKind(StrEnum):
    FREE_CARD_ISSUED = "free_card_issued"


@dataclass(frozen=True)
class Notice:
    """A notice (meddelande) to one patient about one event."""

    patient_key: str
    kind: NoticeKind
    subject: str
    body: str


def free_card_issued(event: FreeCardIssued) -> Notice:
    return Notice(
        patient_key=event.patient_key,
        kind=NoticeKind.FREE_CARD_ISSUED,
        subject="Du har fått frikort",
        body=(
            f"Du har nått högkostnadstaket på {event.ceiling} kr och har fått frikort nummer {event.number}. "
            f"Det gäller från {event.valid_from.isoformat()} till och med {event.valid_to.isoformat()}: "
            "under den tiden betalar du inga patientavgifter för öppenvårdsbesök som omfattas av högkostnadsskyddet."
        ),
    )
