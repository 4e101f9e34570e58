"""Notifications' message handlers: a notice recorded per event (in the consumer's transaction, so a
redelivered event records nothing new), contact details kept. Nothing is sent from here: the
delivery worker sends after the commit."""

from __future__ import annotations

from datetime import date

from contracts.events import (
    FreeCardIssued,
    FreeCardMoved,
    FreeCardRevoked,
    OverchargeFound,
    PatientStatusChanged,
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
from notifications.settings import NotificationSettings
from runtime.consumers import Delivery, InvalidMessage
from runtime.transaction import Transaction

NOT_NOTIFIED = {"OverchargeChanged", "OverchargeRefunded", "UnderchargeRecorded"}
"""Events on the topics read here that the patient is not told about."""


class NoticeHandlers:
    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._region = Region(settings.region_name, settings.region_phone, settings.region_web)

    async def on_free_card_event(self, delivery: Delivery, tx: Transaction) -> None:
        event_type = delivery.headers.get("event_type")
        if event_type == FreeCardIssued.event_type:
            issued = delivery.envelope(FreeCardIssued)
            await self._record(tx, free_card_issued(str(issued.event_id), issued.payload))
        elif event_type == FreeCardMoved.event_type:
            moved = delivery.envelope(FreeCardMoved)
            await self._record(tx, free_card_moved(str(moved.event_id), moved.payload))
        elif event_type == FreeCardRevoked.event_type:
            revoked = delivery.envelope(FreeCardRevoked)
            await self._record(tx, free_card_revoked(str(revoked.event_id), revoked.payload))
        else:
            raise InvalidMessage(f"event_type: {event_type!r} is not a free card event")

    async def on_overcharge_event(self, delivery: Delivery, tx: Transaction) -> None:
        event_type = delivery.headers.get("event_type")
        if event_type == OverchargeFound.event_type:
            found = delivery.envelope(OverchargeFound)
            await self._record(tx, overcharge_found(str(found.event_id), found.payload))
        elif event_type not in NOT_NOTIFIED:
            raise InvalidMessage(f"event_type: {event_type!r} is not an overcharge event")

    async def on_patient_status(self, delivery: Delivery, tx: Transaction) -> None:
        if delivery.headers.get("event_type") != PatientStatusChanged.event_type:
            raise InvalidMessage(f"event_type: {delivery.headers.get('event_type')!r} is not PatientStatusChanged")
        status = delivery.envelope(PatientStatusChanged).payload
        notice = close_to_ceiling(status, self._settings.close_to_ceiling_kronor, today=date.today())
        if notice is not None:
            await self._record(tx, notice)

    async def on_contact_details(self, delivery: Delivery, tx: Transaction) -> None:
        if delivery.headers.get("event_type") != PatientContactDetails.event_type:
            raise InvalidMessage(f"event_type: {delivery.headers.get('event_type')!r} is not PatientContactDetails")
        await store.save_contact(tx.conn, delivery.envelope(PatientContactDetails).payload)

    async def _record(self, tx: Transaction, notice: Notice) -> None:
        contact = store.as_contact(await store.contact_details(tx.conn, notice.patient_key))
        channel = choose_channel(contact, self._settings.webhook_default_url)
        language = language_of(contact)
        texts = render(notice.kind, language, notice.facts, self._region, contact.name if contact else None)
        if await store.add_notice(tx.conn, notice, channel, language, texts) is not None:
            NOTICES_RECORDED.labels(notice.kind.value, channel.value).inc()
