"""Notifications' persistence: the notices, one per causing event."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.notices import Notice

_ADD = text(
    "INSERT INTO notices (event_id, patient_key, kind, subject, body) "
    "VALUES (:event_id, :patient_key, :kind, :subject, :body) ON CONFLICT (event_id) DO NOTHING"
)


async def add_notice(conn: AsyncConnection, event_id: UUID, notice: Notice) -> None:
    """At most one notice per event, even if the inbox were bypassed."""
    await conn.execute(_ADD, {"event_id": event_id, "patient_key": notice.patient_key, "kind": notice.kind.value,
                              "subject": notice.subject, "body": notice.body})
