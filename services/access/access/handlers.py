"""Access's message handlers: thin, each hands its event to the mirror or the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from access import mirror, store
from contracts.access_events import AGREEMENT_EVENTS, DIRECTORY_EVENTS, AuditEntry
from runtime.consumers import Delivery
from runtime.transaction import Transaction


async def on_directory_change(delivery: Delivery, tx: Transaction) -> None:
    await mirror.apply_directory_change(tx, delivery.event(*DIRECTORY_EVENTS))


async def on_agreement_change(delivery: Delivery, tx: Transaction) -> None:
    await mirror.apply_agreement_change(tx, delivery.event(*AGREEMENT_EVENTS))


async def on_audit_entries(deliveries: Sequence[Delivery], tx: Transaction) -> None:
    """Audit entries from every service, stored by event id (a redelivered one is kept once)."""
    entries = []
    for delivery in deliveries:
        envelope = delivery.envelope(AuditEntry)
        entries.append((str(envelope.event_id), envelope.payload))
    await store.add_audit_entries(tx.conn, entries)
