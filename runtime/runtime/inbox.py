"""The inbox: a consumer records each message id in the same transaction as its effect.

A redelivered message (the process died after committing its effect but before committing the
Kafka offset) then finds its id already recorded and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.database import driver_connection

_RECORD = text(
    "INSERT INTO inbox (consumer, message_id) VALUES (:consumer, :message_id) ON CONFLICT DO NOTHING RETURNING 1"
)


async def first_delivery(conn: AsyncConnection, consumer: str, message_id: str) -> bool:
    """Record the message as handled by `consumer`; False when it already was."""
    result = await conn.execute(_RECORD, {"consumer": consumer, "message_id": message_id})
    return result.scalar() is not None


_RECORD_MANY = (
    "INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING message_id"
)


async def first_deliveries(conn: AsyncConnection, consumer: str, message_ids: Sequence[str]) -> set[str]:
    """Record a batch of messages in one statement; returns the ids seen for the first time."""
    driver = await driver_connection(conn)
    return {row[0] for row in await driver.fetch(_RECORD_MANY, consumer, list(message_ids))}
