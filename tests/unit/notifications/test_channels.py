"""The channels' own formats: the letter's PDF, the webhook's signature, the e-mail's headers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
from datetime import date
from pathlib import Path

import pypdf
import pytest

from contracts.notice_events import NoticeChannel, NoticeLanguage
from notifications.channels import DeliveryFailed, Outgoing
from notifications.channels.email import EmailChannel
from notifications.channels.letter import LetterChannel, letter_pdf
from notifications.channels.webhook import body_of, signature
from notifications.delivery_rules import ContactDetails
from notifications.notices import free_card_issued
from notifications.rendering import Region, render
from notifications.settings import NotificationsSettings
from tests.unit.notifications.test_what_a_patient_is_told import issued

REGION = Region(name="Region Jönköpings län", phone="010-242 00 00", web="https://rjl.se/")
ADDRESS = ContactDetails(NoticeChannel.LETTER, name="Åsa Öberg", postal_address=("Storgatan 1", "553 16 Jönköping"))


def outgoing(contact: ContactDetails | None = ADDRESS, notice_id: int = 42) -> Outgoing:
    notice = free_card_issued("event-1", issued())
    texts = render(notice.kind, NoticeLanguage.SWEDISH, notice.facts, REGION, name=contact.name if contact else None)
    return Outgoing(notice_id, "k1", notice.kind.value, "sv", texts.subject, texts.text, texts.html, contact)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_the_letters_text_holds_the_free_cards_number_and_dates_and_swedish_letters() -> None:
    text = pdf_text(letter_pdf(outgoing(), REGION.name))
    assert "FK-2025-000123" in text
    assert "2025-08-23" in text and "2026-04-24" in text
    assert "Åsa Öberg" in text and "553 16 Jönköping" in text
    assert "högkostnadstaket" in text and "Du har fått frikort" in text


def test_a_letter_without_an_address_cannot_be_sent_and_no_retry_helps() -> None:
    with pytest.raises(DeliveryFailed) as failure:
        letter_pdf(outgoing(contact=None), REGION.name)
    assert failure.value.permanent


async def test_a_letter_is_written_whole_into_the_days_print_batch_and_a_second_try_replaces_it(
    tmp_path: Path,
) -> None:
    channel = LetterChannel(NotificationsSettings(letter_folder=tmp_path))
    await channel.send(outgoing())
    await channel.send(outgoing())
    [letter] = await asyncio.to_thread(lambda: list(tmp_path.glob("*/*")))
    assert letter.name == "efrikort-notice-42.pdf"
    assert date.fromisoformat(letter.parent.name)
    assert "FK-2025-000123" in pdf_text(letter.read_bytes())


def test_the_webhook_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = body_of(outgoing())
    expected = hmac.new(b"shared-secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("shared-secret", "1700000000", body) == f"sha256={expected}"
    assert signature("other-secret", "1700000000", body) != f"sha256={expected}"


def test_the_webhook_body_carries_the_idempotency_key_and_the_texts_but_no_identity_number() -> None:
    sent = json.loads(body_of(outgoing()))
    assert sent["notice_id"] == "efrikort-notice-42"
    assert sent["patient_key"] == "k1"
    assert "FK-2025-000123" in sent["text"]


def test_an_email_has_the_same_message_id_on_every_try_and_both_parts() -> None:
    channel = EmailChannel(NotificationsSettings(email_sender="Region <frikort@region.example>"))
    contact = ContactDetails(NoticeChannel.EMAIL, email="asa@example.se")
    first, again = channel.message(outgoing(contact)), channel.message(outgoing(contact))
    assert first["Message-ID"] == again["Message-ID"] == "<efrikort-notice-42@efrikort.invalid>"
    assert first["To"] == "asa@example.se"
    assert [part.get_content_type() for part in first.iter_parts()] == ["text/plain", "text/html"]
