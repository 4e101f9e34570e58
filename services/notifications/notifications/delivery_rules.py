"""Which channel a notice goes by, and when a failed try is tried again. Plain Python: no Kafka, no SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from contracts.notice_events import NoticeChannel, NoticeLanguage


@dataclass(frozen=True)
class ContactDetails:
    """How and where one patient is told (from `PatientContactDetails`)."""

    channel: NoticeChannel
    language: NoticeLanguage = NoticeLanguage.SWEDISH
    name: str | None = None
    email: str | None = None
    webhook_url: str | None = None
    postal_address: tuple[str, ...] = field(default=())


def choose_channel(contact: ContactDetails | None, webhook_default_url: str | None = None) -> NoticeChannel:
    """The patient's preferred channel when it can be used; otherwise a letter, the fallback."""
    if contact is None:
        return NoticeChannel.LETTER
    if contact.channel == NoticeChannel.EMAIL and contact.email:
        return NoticeChannel.EMAIL
    if contact.channel == NoticeChannel.WEBHOOK and (contact.webhook_url or webhook_default_url):
        return NoticeChannel.WEBHOOK
    return NoticeChannel.LETTER


def language_of(contact: ContactDetails | None) -> NoticeLanguage:
    return contact.language if contact is not None else NoticeLanguage.SWEDISH


class NoticeState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential back-off between tries, up to a bounded number of tries."""

    max_attempts: int
    initial_delay: timedelta
    max_delay: timedelta

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try: initial, 2x, 4x, ... never above `max_delay`."""
        if attempts < 1:
            raise ValueError("attempts counts tries made: at least 1")
        # Capped exponent: a large attempt count must not overflow before the cap applies.
        factor = 2 ** min(attempts - 1, 40)
        return min(self.initial_delay * factor, self.max_delay)

    def after_failure(
        self, attempts: int, now: datetime, permanent: bool = False
    ) -> tuple[NoticeState, datetime | None]:
        """What becomes of a notice whose `attempts`-th try failed: failed for good, or pending until when."""
        if permanent or attempts >= self.max_attempts:
            return NoticeState.FAILED, None
        return NoticeState.PENDING, now + self.delay_after(attempts)


def missing_for_channel(
    channel: NoticeChannel, email: str | None, webhook_url: str | None, postal_address: tuple[str, ...] | list[str]
) -> str | None:
    """The field a preferred channel cannot do without, when it is missing. A webhook may go to the
    region's default endpoint, so it needs none of its own."""
    if channel == NoticeChannel.EMAIL and not email:
        return "email"
    if channel == NoticeChannel.LETTER and not postal_address:
        return "postal_address"
    return None


@dataclass(frozen=True)
class Mailboxes:
    """The hosts a patient's own `webhook_url` may name: the digital mailboxes the region has agreed with.

    A notice carries the patient's name, unit, dates, amounts and card number, signed by the region; it
    goes to no address a desk user happened to type, and never over plain HTTP. None: no patient-specific
    webhooks at all (only the region's default endpoint)."""

    allowed_hosts: frozenset[str]

    @classmethod
    def of(cls, hosts: Iterable[str]) -> Mailboxes:
        return cls(frozenset(host.strip().lower() for host in hosts if host.strip()))

    def refusal(self, url: str) -> str | None:
        """Why `url` may not receive notices, or None. Never repeats the URL: the reason is shown and logged."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            return "is not a valid URL"
        if parts.scheme != "https":
            return "must be an https URL"
        if parts.username is not None or parts.password is not None:
            return "must not carry a user name or password"
        if host not in self.allowed_hosts:
            return "names a host that is not one of the region's digital mailboxes"
        return None
