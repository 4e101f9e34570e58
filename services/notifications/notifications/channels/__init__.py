"""The ways a notice reaches a patient: e-mail, a webhook to a digital mailbox, a printed letter.

Each adapter takes one `Outgoing` notice and either returns (the channel accepted it) or raises
`DeliveryFailed`. Every adapter passes the notice id along so that a receiver can recognise a
notice it already has: a crash between a send and recording it as sent makes a second send possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications.delivery_rules import ContactDetails


@dataclass(frozen=True)
class Outgoing:
    """A notice ready to send: its texts, and where the patient's details say it goes."""

    notice_id: int
    patient_key: str
    kind: str
    language: str
    subject: str
    text: str
    html: str
    contact: ContactDetails | None

    @property
    def idempotency_key(self) -> str:
        """The same for every try of one notice, so that a receiver can drop a repeat."""
        return f"efrikort-notice-{self.notice_id}"


class DeliveryFailed(Exception):
    """The channel did not take the notice. `permanent` when no retry can help (no address at all).

    The text must name no address and no personal data: it is stored, logged and shown to operators."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class ChannelAdapter(Protocol):
    async def send(self, notice: Outgoing) -> None: ...
