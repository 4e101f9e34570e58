"""Notice events: how a patient wants to be told (contact details), and what came of each notice.

Contact details go on the compacted `efrikort.patient-contacts.v1`, the latest per patient key;
notices delivered or failed on `efrikort.notices.v1`. Both are keyed by the pseudonymous patient key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contracts.envelope import Event


class NoticeChannel(StrEnum):
    """How a notice (meddelande) reaches the patient."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    """A digital mailbox (digital brevlåda) or an inbox such as 1177's, over a signed HTTP POST."""
    LETTER = "letter"
    """A printed letter to the postal address: the fallback when no other channel can be used."""


class NoticeLanguage(StrEnum):
    SWEDISH = "sv"
    ENGLISH = "en"


class PatientContactDetails(Event):
    """How a patient wants to be told, and where. The latest per patient key wins."""

    event_type: ClassVar[str] = "PatientContactDetails"

    patient_key: str
    channel: NoticeChannel = Field(description="The preferred channel; a letter when it cannot be used.")
    language: NoticeLanguage = NoticeLanguage.SWEDISH
    name: str | None = Field(default=None, description="Whom a letter is addressed to.")
    email: str | None = None
    webhook_url: str | None = Field(
        default=None, description="The digital mailbox's or inbox's endpoint for this patient, when it has one."
    )
    postal_address: list[str] = Field(default_factory=list, description="Address lines of a letter, in order.")
    changed_at: datetime
    changed_by: str = Field(description="HSA-ID of whoever changed them, or the system that did.")


class NoticeDelivered(Event):
    """A notice reached its channel (the mail server, the mailbox or the print batch accepted it)."""

    event_type: ClassVar[str] = "NoticeDelivered"

    notice_id: int
    patient_key: str
    kind: str
    channel: NoticeChannel
    caused_by: str = Field(description="event_id of the event the notice is about, or what else caused it.")
    attempts: int
    delivered_at: datetime


class NoticeFailed(Event):
    """A notice could not be delivered within its attempts; an operator may send it again."""

    event_type: ClassVar[str] = "NoticeFailed"

    notice_id: int
    patient_key: str
    kind: str
    channel: NoticeChannel
    caused_by: str
    attempts: int
    error: str = Field(description="The last error, without personal data.")
    failed_at: datetime


NOTICE_EVENTS: tuple[type[Event], ...] = (NoticeDelivered, NoticeFailed)
