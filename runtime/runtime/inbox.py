"""The inbox: a consumer records each message id in the same transaction as its effect.

A redelivered message (the process died after committing its effect but before committing the
Kafka offset, a relay published a batch again, operators rewound a group) then finds its id already
recorded and changes nothing. An id is remembered as long as its topic may still hold the message
(`kept_for`), then forgotten (`forget_before`), so that the inbox does not grow with every message ever
taken in.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asyncpg import Connection
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.topics import SystemTopic, Topic
from runtime.database import driver_connection

_RECORD = text(
    "INSERT INTO inbox (consumer, message_id) VALUES (:consumer, :message_id) ON CONFLICT DO NOTHING RETURNING 1"
)


async def first_delivery(conn: AsyncConnection, consumer: str, message_id: str) -> bool:
    """Record the message as handled by `consumer`; False when it already was."""
    result = await conn.execute(_RECORD, {"consumer": consumer, "message_id": message_id})
    return result.scalar() is not None


def recording_many(consumer: str, message_ids: str) -> str:
    """The statement recording a batch of ids, its parameters named (`$1`...) by the caller: asked alone
    (`first_deliveries`), or with the outbox's write (`runtime.outbox.put_many`)."""
    return (
        f"INSERT INTO inbox (consumer, message_id) SELECT {consumer}, unnest({message_ids}::text[]) "
        "ON CONFLICT DO NOTHING"
    )


_RECORD_MANY = recording_many("$1", "$2") + " RETURNING message_id"


async def first_deliveries(conn: AsyncConnection, consumer: str, message_ids: Sequence[str]) -> set[str]:
    """Record a batch of messages in one statement; returns the ids seen for the first time."""
    driver = await driver_connection(conn)
    return {row[0] for row in await driver.fetch(_RECORD_MANY, consumer, list(message_ids))}


@dataclass(frozen=True)
class TakenIn:
    """A poll's messages, recorded in the inbox by a statement that writes something else (`writing_taking_in`):
    the outbox's when the poll's transaction is flushed (`outbox.put_many`), or a handler's own write when the
    poll emits nothing (`Transaction.taking_in_now`). One round trip fewer for every poll."""

    consumer: str
    message_ids: list[str]


class Redelivered(Exception):
    """A message taken in with another write was recorded before: the poll's transaction rolls back, and
    the poll is heard again with the inbox asked first (`runtime.consumers.MessageProcessor`)."""


async def writing_taking_in(driver: Connection, write: str, args: Sequence[Any], taking_in: TakenIn | None) -> None:
    """Run `write`, one INSERT, UPDATE or DELETE whose parameters are `$1`... in the order of `args`, and with
    `taking_in` record the poll's messages in the inbox in the same statement. Raises `Redelivered` if one of
    them was recorded before: the caller's transaction must then roll back."""
    if taking_in is None:
        await driver.execute(write, *args)
        return
    statement = _written_taking_in(write, len(args))
    recorded = await driver.fetchval(statement, *args, taking_in.consumer, taking_in.message_ids)
    if recorded < len(taking_in.message_ids):
        raise Redelivered()


@functools.cache
def _written_taking_in(write: str, parameters: int) -> str:
    """`write` with the inbox's record of a poll before it, its parameters the two after `write`'s: made once
    for each write, not on every poll."""
    consumer, message_ids = f"${parameters + 1}", f"${parameters + 2}"
    return (
        f"WITH taken_in AS ({recording_many(consumer, message_ids)} RETURNING 1), written AS ({write}) "
        "SELECT count(*) FROM taken_in"
    )


SEGMENT_ROLL = timedelta(days=7)
"""How much longer than its topic's retention Kafka may keep a record: it deletes whole segments, once the
newest record of one is older than the retention, and closes a segment after `log.roll.hours` (168 by
default; e-frikort creates its topics without a `segment.ms` of their own)."""

MARGIN = timedelta(days=1)
"""And a day more: a record's time is when it was produced, a little before it was handled."""


def kept_for(subscriptions: Iterable[tuple[str, Topic | SystemTopic]]) -> dict[str, timedelta]:
    """How long each consumer group remembers a message id, from the (group, topic) pairs it reads: as long
    as the longest-kept of its topics may hold the message. A group that reads a compacted topic (kept for
    ever) is left out: it remembers every id, since a rewound group could be given any of them again."""
    for_ever: set[str] = set()
    longest: dict[str, int] = {}
    for group, topic in subscriptions:
        if topic.retention_ms < 0 or (isinstance(topic, Topic) and topic.cleanup_policy == "compact"):
            for_ever.add(group)
        else:
            longest[group] = max(longest.get(group, 0), topic.retention_ms)
    return {
        group: timedelta(milliseconds=retention) + SEGMENT_ROLL + MARGIN
        for group, retention in longest.items()
        if group not in for_ever
    }


# By physical address: a bounded batch of the oldest, so that each transaction stays short.
_FORGET = (
    "DELETE FROM inbox WHERE ctid = ANY(ARRAY("
    "SELECT ctid FROM inbox WHERE consumer = $1 AND processed_at < $2 LIMIT $3))"
)


async def forget_before(conn: AsyncConnection, consumer: str, before: datetime, limit: int) -> int:
    """Forget at most `limit` of the ids `consumer` recorded before `before`; returns how many."""
    driver = await driver_connection(conn)
    status = await driver.execute(_FORGET, consumer, before, limit)
    return int(status.rsplit(" ", 1)[-1])
