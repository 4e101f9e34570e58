"""Notifications' message handlers."""

from __future__ import annotations

from contracts.events import FreeCardIssued
from notifications import store
from notifications.notices import free_card_issued
from runtime.consumers import Delivery
from runtime.transaction import Transaction


async def on_free_card_issued(delivery: Delivery, tx: Transaction) -> None:
    envelope = delivery.envelope(FreeCardIssued)
    await store.add_notice(tx.conn, envelope.event_id, free_card_issued(envelope.payload))
