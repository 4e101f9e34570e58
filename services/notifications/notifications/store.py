"""Notifications' persistence: patients' contact details, and the notices with their delivery state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.notice_events import NoticeChannel, NoticeLanguage, PatientContactDetails
from notifications.delivery_rules import ContactDetails, NoticeState
from notifications.notices import Notice
from notifications.rendering import RenderedNotice

# --- contact details

_UPSERT_CONTACT = text(
    "INSERT INTO patient_contacts (patient_key, channel, language, name, email, webhook_url, postal_address, "
    "changed_at, changed_by) VALUES (:patient_key, :channel, :language, :name, :email, :webhook_url, "
    "CAST(:postal_address AS jsonb), :changed_at, :changed_by) "
    "ON CONFLICT (patient_key) DO UPDATE SET channel = EXCLUDED.channel, language = EXCLUDED.language, "
    "name = EXCLUDED.name, email = EXCLUDED.email, webhook_url = EXCLUDED.webhook_url, "
    "postal_address = EXCLUDED.postal_address, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by "
    # The topic may hand back an older version after a newer one came through the API: the newest wins.
    "WHERE patient_contacts.changed_at <= EXCLUDED.changed_at"
)
_CONTACT = text(
    "SELECT patient_key, channel, language, name, email, webhook_url, postal_address, changed_at, changed_by "
    "FROM patient_contacts WHERE patient_key = :patient_key"
)


async def save_contact(conn: AsyncConnection, details: PatientContactDetails) -> bool:
    """Keep the details unless newer ones are already stored. True when they were kept."""
    result = await conn.execute(
        _UPSERT_CONTACT,
        {
            **details.model_dump(mode="python", exclude={"postal_address", "channel", "language"}),
            "channel": details.channel.value,
            "language": details.language.value,
            "postal_address": json.dumps(details.postal_address),
        },
    )
    return result.rowcount == 1


async def contact_details(conn: AsyncConnection, patient_key: str) -> PatientContactDetails | None:
    row = (await conn.execute(_CONTACT, {"patient_key": patient_key})).mappings().first()
    return PatientContactDetails.model_validate(dict(row)) if row is not None else None


def as_contact(details: PatientContactDetails | None) -> ContactDetails | None:
    if details is None:
        return None
    return ContactDetails(
        channel=details.channel,
        language=details.language,
        name=details.name,
        email=details.email,
        webhook_url=details.webhook_url,
        postal_address=tuple(details.postal_address),
    )


# --- notices

_ADD_NOTICE = text(
    "INSERT INTO notices (cause, patient_key, kind, channel, language, subject, body, html, facts) "
    "VALUES (:cause, :patient_key, :kind, :channel, :language, :subject, :body, :html, CAST(:facts AS jsonb)) "
    "ON CONFLICT (patient_key, cause, channel) DO NOTHING RETURNING id"
)


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a notice's facts")


async def add_notice(
    conn: AsyncConnection, notice: Notice, channel: NoticeChannel, language: NoticeLanguage, texts: RenderedNotice
) -> int | None:
    """At most one notice per patient, cause and channel, even if the inbox were bypassed. Its id, or None
    when it was there already."""
    result = await conn.execute(
        _ADD_NOTICE,
        {
            "cause": notice.cause,
            "patient_key": notice.patient_key,
            "kind": notice.kind.value,
            "channel": channel.value,
            "language": language.value,
            "subject": texts.subject,
            "body": texts.text,
            "html": texts.html,
            "facts": json.dumps(notice.facts, default=_json_default, sort_keys=True),
        },
    )
    return result.scalar_one_or_none()


@dataclass(frozen=True)
class ClaimedNotice:
    """A notice a delivery worker holds for one try, and the patient's details as they are now."""

    id: int
    patient_key: str
    kind: str
    cause: str
    channel: NoticeChannel
    language: str
    subject: str
    body: str
    html: str
    attempts: int
    contact: ContactDetails | None


_CLAIM_DUE = text(
    "WITH claimed AS ("
    " UPDATE notices SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => :lease_s),"
    " updated_at = now()"
    " WHERE id IN (SELECT id FROM notices WHERE state = 'pending' AND next_attempt_at <= now()"
    "  ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " RETURNING id, patient_key, kind, cause, channel, language, subject, body, html, attempts) "
    "SELECT claimed.*, c.channel AS preferred_channel, c.language AS preferred_language, c.name, c.email,"
    " c.webhook_url, c.postal_address, c.changed_at, c.changed_by "
    "FROM claimed LEFT JOIN patient_contacts c USING (patient_key) ORDER BY claimed.id"
)


async def claim_due(conn: AsyncConnection, limit: int, lease_s: float) -> list[ClaimedNotice]:
    """Take up to `limit` notices that are due, counting the try now and leasing them for `lease_s`: if
    the sender dies, the notice is due again when the lease runs out. Replicas skip each other's rows."""
    rows = (await conn.execute(_CLAIM_DUE, {"limit": limit, "lease_s": lease_s})).mappings().all()
    claimed = []
    for row in rows:
        contact = None
        if row["preferred_channel"] is not None:
            contact = ContactDetails(
                channel=NoticeChannel(row["preferred_channel"]),
                language=NoticeLanguage(row["preferred_language"]),
                name=row["name"],
                email=row["email"],
                webhook_url=row["webhook_url"],
                postal_address=tuple(row["postal_address"] or ()),
            )
        claimed.append(
            ClaimedNotice(
                id=row["id"],
                patient_key=row["patient_key"],
                kind=row["kind"],
                cause=row["cause"],
                channel=NoticeChannel(row["channel"]),
                language=row["language"],
                subject=row["subject"],
                body=row["body"],
                html=row["html"],
                attempts=row["attempts"],
                contact=contact,
            )
        )
    return claimed


# Every outcome names the try it is the outcome of: a sender whose lease ran out (and whose notice
# another sender took) must not overwrite what the later try recorded.
_MARK_SENT = text(
    "UPDATE notices SET state = 'sent', sent_at = now(), updated_at = now(), last_error = NULL "
    "WHERE id = :id AND state = 'pending' AND attempts = :attempts"
)
_MARK_RETRY = text(
    "UPDATE notices SET next_attempt_at = :next_attempt_at, last_error = :error, updated_at = now() "
    "WHERE id = :id AND state = 'pending' AND attempts = :attempts"
)
_MARK_FAILED = text(
    "UPDATE notices SET state = 'failed', last_error = :error, updated_at = now() "
    "WHERE id = :id AND state = 'pending' AND attempts = :attempts"
)


async def mark_sent(conn: AsyncConnection, notice_id: int, attempts: int) -> bool:
    result = await conn.execute(_MARK_SENT, {"id": notice_id, "attempts": attempts})
    return result.rowcount == 1


async def mark_retry(
    conn: AsyncConnection, notice_id: int, attempts: int, next_attempt_at: datetime, error: str
) -> bool:
    result = await conn.execute(
        _MARK_RETRY, {"id": notice_id, "attempts": attempts, "next_attempt_at": next_attempt_at, "error": error}
    )
    return result.rowcount == 1


async def mark_failed(conn: AsyncConnection, notice_id: int, attempts: int, error: str) -> bool:
    result = await conn.execute(_MARK_FAILED, {"id": notice_id, "attempts": attempts, "error": error})
    return result.rowcount == 1


_NOTICE_COLUMNS = (
    "id, patient_key, kind, cause, channel, language, state, attempts, last_error, next_attempt_at, sent_at, "
    "created_at, updated_at"
)
_NOTICES_IN_STATE = text(
    f"SELECT {_NOTICE_COLUMNS} FROM notices WHERE state = :state ORDER BY updated_at DESC, id DESC LIMIT :limit"
)
_NOTICE = text(f"SELECT {_NOTICE_COLUMNS} FROM notices WHERE id = :id")
_RESEND = text(
    "UPDATE notices SET state = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, "
    f"updated_at = now() WHERE id = :id AND state = 'failed' RETURNING {_NOTICE_COLUMNS}"
)


async def notices_in_state(conn: AsyncConnection, state: NoticeState, limit: int) -> list[dict[str, Any]]:
    rows = (await conn.execute(_NOTICES_IN_STATE, {"state": state.value, "limit": limit})).mappings().all()
    return [dict(row) for row in rows]


async def notice(conn: AsyncConnection, notice_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_NOTICE, {"id": notice_id})).mappings().first()
    return dict(row) if row is not None else None


async def send_again(conn: AsyncConnection, notice_id: int) -> dict[str, Any] | None:
    """A failed notice back to pending with a fresh set of attempts; None unless it had failed."""
    row = (await conn.execute(_RESEND, {"id": notice_id})).mappings().first()
    return dict(row) if row is not None else None
