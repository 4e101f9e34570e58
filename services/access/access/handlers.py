"""Access's message handlers: thin, each hands its event to the mirror or the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from access import mirror, store
from contracts.access_events import AGREEMENT_EVENTS, DIRECTORY_EVENTS, AuditEntry
from runtime.consumers import Delivery
from runtime.transaction import Transaction


async def on_directory_change(delivery: Delivery, tx: Transaction) -> None:
    """A change on the HSA feed; `mirror.apply_directory_change` tells the kinds apart."""
    await mirror.apply_directory_change(tx, delivery.event(*DIRECTORY_EVENTS))


async def on_agreement_change(delivery: Delivery, tx: Transaction) -> None:
    """An agreement or system change; `mirror.apply_agreement_change` tells the kinds apart."""
    await mirror.apply_agreement_change(tx, delivery.event(*AGREEMENT_EVENTS))


async def on_audit_entries(deliveries: Sequence[Delivery], tx: Transaction) -> None:
    """Audit entries from every service, stored by event id (a redelivered one is kept once)."""
    envelopes = [delivery.envelope(AuditEntry) for delivery in deliveries]
    await store.add_audit_entries(tx.conn, [(str(e.event_id), e.payload) for e in envelopes])
