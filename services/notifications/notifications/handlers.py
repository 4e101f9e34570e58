"""Notifications' message handlers: a notice recorded per event (in the consumer's transaction, so a
redelivered event records nothing new), contact details kept. Nothing is sent from here: the
delivery worker sends after the commit. A notice's cause is the id of the event it reports
(`Delivery.message_id`, the `event_id` its producer gave).

Each handler's dependencies are keyword parameters, bound once in `app.py`."""

from __future__ import annotations

from contracts.clock import today_in_sweden
from contracts.events import (
    FreeCardIssued,
    FreeCardMoved,
    FreeCardRevoked,
    OverchargeChanged,
    OverchargeFound,
    OverchargeRefunded,
    PatientStatusChanged,
    UnderchargeRecorded,
)
from contracts.notice_events import PatientContactDetails
from notifications import store
from notifications.delivery_rules import choose_channel, language_of
from notifications.metrics import NOTICES_RECORDED
from notifications.notices import (
    Notice,
    close_to_ceiling,
    free_card_issued,
    free_card_moved,
    free_card_revoked,
    overcharge_found,
)
from notifications.rendering import Region, render
from runtime.consumers import Delivery
from runtime.transaction import Transaction


async def on_free_card_event(
    delivery: Delivery, tx: Transaction, *, region: Region, webhook_default_url: str | None
) -> None:
    """A free card issued, moved or revoked: the patient is told each."""
    match delivery.event(FreeCardIssued, FreeCardMoved, FreeCardRevoked):
        case FreeCardIssued() as issued:
            notice = free_card_issued(delivery.message_id, issued)
            await record_notice(tx, notice, region=region, webhook_default_url=webhook_default_url)
        case FreeCardMoved() as moved:
            notice = free_card_moved(delivery.message_id, moved)
            await record_notice(tx, notice, region=region, webhook_default_url=webhook_default_url)
        case FreeCardRevoked() as revoked:
            notice = free_card_revoked(delivery.message_id, revoked)
            await record_notice(tx, notice, region=region, webhook_default_url=webhook_default_url)


async def on_overcharge_event(
    delivery: Delivery, tx: Transaction, *, region: Region, webhook_default_url: str | None
) -> None:
    """An overcharge found: the patient is told whom to ask for the refund. Its later changes, its
    refund and undercharges are not the patient's to act on, so they are not told."""
    match delivery.event(OverchargeFound, OverchargeChanged, OverchargeRefunded, UnderchargeRecorded):
        case OverchargeFound() as found:
            notice = overcharge_found(delivery.message_id, found)
            await record_notice(tx, notice, region=region, webhook_default_url=webhook_default_url)
        case OverchargeChanged() | OverchargeRefunded() | UnderchargeRecorded():
            pass


async def on_patient_status(
    delivery: Delivery,
    tx: Transaction,
    *,
    close_to_ceiling_kronor: int,
    region: Region,
    webhook_default_url: str | None,
) -> None:
    """Where the patient stands: told once per period when the ceiling is near (when the region wants it)."""
    match delivery.event(PatientStatusChanged):
        case PatientStatusChanged() as status:
            notice = close_to_ceiling(status, close_to_ceiling_kronor, today=today_in_sweden())
            if notice is not None:
                await record_notice(tx, notice, region=region, webhook_default_url=webhook_default_url)


async def on_contact_details(delivery: Delivery, tx: Transaction) -> None:
    """How the patient wants to be told, as set through any instance's API (the topic is compacted)."""
    match delivery.event(PatientContactDetails):
        case PatientContactDetails() as details:
            await store.save_contact(tx.conn, details)


async def record_notice(tx: Transaction, notice: Notice, *, region: Region, webhook_default_url: str | None) -> None:
    """The notice written in the patient's language, for the channel it will go by, kept to be sent
    (once: a notice already recorded for the same cause is left as it is)."""
    contact = store.as_contact(await store.contact_details(tx.conn, notice.patient_key))
    channel = choose_channel(contact, webhook_default_url)
    language = language_of(contact)
    texts = render(notice.kind, language, notice.facts, region, contact.name if contact else None)
    if await store.add_notice(tx.conn, notice, channel, language, texts) is not None:
        NOTICES_RECORDED.labels(notice.kind.value, channel.value).inc()
