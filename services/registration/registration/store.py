"""Registration's persistence: submissions seen, every version of every fee, outcomes.

The access grants it decides with are the runtime's shared read model (`runtime.access_grants`).

Statements that serve the submission path take a whole batch at once (arrays or executemany), so a
poll of hundreds of submissions costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from registration.fee_versions import FeeVersion
from runtime.database import driver_connection
from runtime.inbox import TakenIn, writing_taking_in

SubmissionKey = tuple[str, str]
"""(sender, submission_id): the idempotency key, and whose outcome it is. The sender is the system's or
the person's namespace of submission ids (`registering.sender_of`)."""


@dataclass(frozen=True)
class KnownSubmission:
    fee_id: UUID
    fingerprint: str


@dataclass(frozen=True)
class Claim:
    """An idempotency key asked for a new fee, and the fee's first version, stored if the key is won."""

    sender: str
    submission_id: str
    fingerprint: str
    first_version: FeeVersion

    @property
    def key(self) -> SubmissionKey:
        return (self.sender, self.submission_id)


# --- submissions and fee versions -------------------------------------------------------------

_KNOWN = text(
    "SELECT s.sender, s.submission_id, s.fee_id, s.fingerprint FROM submissions s "
    "JOIN unnest(CAST(:senders AS text[]), CAST(:submission_ids AS text[])) AS k(sender, submission_id) "
    "USING (sender, submission_id)"
)
_VERSION_COLUMNS = (
    "fee_id",
    "version",
    "submission_id",
    "system_id",
    "patient_key",
    "birth_date",
    "visit_date",
    "care_unit",
    "registered_by",
    "fee_type",
    "fee_amount",
    "paid_amount",
    "source",
    "receipt_issuer",
    "registered_at",
    "change",
    "changed_by",
    "changed_at",
    "reason",
    "deleted",
)
_VERSION_TYPES = (
    "uuid",
    "int",
    "text",
    "text",
    "text",
    "date",
    "date",
    "text",
    "text",
    "text",
    "int",
    "int",
    "text",
    "text",
    "timestamptz",
    "text",
    "text",
    "timestamptz",
    "text",
    "bool",
)
# One statement with a column array each, through the driver: the batch's versions in one round
# trip, without SQLAlchemy building a parameter dictionary per version.
_ADD_VERSIONS = (
    f"INSERT INTO fee_versions ({', '.join(_VERSION_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${n}::{t}[]' for n, t in enumerate(_VERSION_TYPES, start=1))})"
)
_CLAIM_COLUMNS = ("sender", "submission_id", "fingerprint", "fee_id", "patient_key")
_CLAIM_TYPES = ("text", "text", "text", "uuid", "text")
# The keys claimed and, for each key won, its fee's first version stored, in one round trip: both are on every
# submission's way. A statement does not see its own inserts, so the versions follow what the claim returned.
_CLAIM_AND_ADD_FIRST_VERSIONS = (
    f"WITH won AS (INSERT INTO submissions ({', '.join(_CLAIM_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${n}::{t}[]' for n, t in enumerate(_CLAIM_TYPES, start=1))}) "
    "ON CONFLICT DO NOTHING RETURNING sender, submission_id, fee_id), "
    f"first_versions AS (INSERT INTO fee_versions ({', '.join(_VERSION_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${n}::{t}[]" for n, t in enumerate(_VERSION_TYPES, start=len(_CLAIM_TYPES) + 1))
    + f") AS v({', '.join(_VERSION_COLUMNS)}) WHERE v.fee_id IN (SELECT fee_id FROM won)) "
    "SELECT sender, submission_id FROM won"
)
_VERSIONS = text("SELECT * FROM fee_versions WHERE fee_id = :fee_id ORDER BY version")
_LATEST = text("SELECT * FROM fee_versions WHERE fee_id = :fee_id ORDER BY version DESC LIMIT 1")
_LOCK_FEE = text("SELECT pg_advisory_xact_lock(hashtext('fee/' || :fee_id))")


async def claim_submissions(conn: AsyncConnection, claims: Sequence[Claim]) -> set[SubmissionKey]:
    """Reserve each submission id for its fee, and store the first version of each fee whose id this call
    won; returns the keys won.

    Keys that were used before, or that a concurrent transaction holds, are not won (and their version not
    stored): the caller then reads the earlier claim. The keys go in sorted so concurrent batches cannot
    deadlock.
    """
    if not claims:
        return set()
    ordered = sorted(claims, key=lambda c: c.key)
    driver = await driver_connection(conn)
    rows = await driver.fetch(
        _CLAIM_AND_ADD_FIRST_VERSIONS,
        [c.sender for c in ordered],
        [c.submission_id for c in ordered],
        [c.fingerprint for c in ordered],
        [c.first_version.fee_id for c in ordered],
        # Every table about a patient carries the key, so that a patient's exit removes the row.
        [c.first_version.patient_key for c in ordered],
        *_version_columns([c.first_version for c in ordered]),
    )
    return {(row[0], row[1]) for row in rows}


async def known_submissions(
    conn: AsyncConnection, keys: Iterable[SubmissionKey]
) -> dict[SubmissionKey, KnownSubmission]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    result = await conn.execute(_KNOWN, {"senders": [k[0] for k in wanted], "submission_ids": [k[1] for k in wanted]})
    return {(row.sender, row.submission_id): KnownSubmission(row.fee_id, row.fingerprint) for row in result}


async def add_versions(conn: AsyncConnection, versions: Sequence[FeeVersion]) -> None:
    if not versions:
        return
    driver = await driver_connection(conn)
    await driver.execute(_ADD_VERSIONS, *_version_columns(versions))


def _version_columns(versions: Sequence[FeeVersion]) -> list[list[Any]]:
    """The versions as one array per column of `fee_versions`, in `_VERSION_COLUMNS` order."""
    rows = [v.as_row() for v in versions]
    return [[row[column] for row in rows] for column in _VERSION_COLUMNS]


async def versions(conn: AsyncConnection, fee_id: UUID) -> list[FeeVersion]:
    """Every version of the fee, oldest first; empty when there is no such fee."""
    rows = (await conn.execute(_VERSIONS, {"fee_id": fee_id})).mappings()
    return [FeeVersion.from_row(dict(row)) for row in rows]


async def latest_version_for_change(conn: AsyncConnection, fee_id: UUID) -> FeeVersion | None:
    """The current version, with the fee locked until the transaction ends, so that two changes of
    one fee at once are made one after the other and each gets its own version number."""
    await conn.execute(_LOCK_FEE, {"fee_id": str(fee_id)})
    row = (await conn.execute(_LATEST, {"fee_id": fee_id})).mappings().first()
    return FeeVersion.from_row(dict(row)) if row is not None else None


_LATEST_OF_MANY = text(
    "SELECT DISTINCT ON (fee_id) * FROM fee_versions WHERE fee_id = ANY(CAST(:fee_ids AS uuid[])) "
    "ORDER BY fee_id, version DESC"
)


async def latest_versions(conn: AsyncConnection, fee_ids: Iterable[UUID]) -> dict[UUID, FeeVersion]:
    wanted = list(set(fee_ids))
    if not wanted:
        return {}
    rows = (await conn.execute(_LATEST_OF_MANY, {"fee_ids": wanted})).mappings()
    return {row["fee_id"]: FeeVersion.from_row(dict(row)) for row in rows}


_PATIENTS_FEES = text(
    "SELECT * FROM (SELECT DISTINCT ON (fee_id) * FROM fee_versions WHERE patient_key = :patient_key "
    "ORDER BY fee_id, version DESC) AS latest ORDER BY visit_date DESC, registered_at DESC, fee_id"
)


async def patients_fees(conn: AsyncConnection, patient_key: str) -> list[FeeVersion]:
    """The latest version of each of the patient's fees, deleted ones included, newest visit first."""
    rows = (await conn.execute(_PATIENTS_FEES, {"patient_key": patient_key})).mappings()
    return [FeeVersion.from_row(dict(row)) for row in rows]


async def latest_version(conn: AsyncConnection, fee_id: UUID) -> FeeVersion | None:
    row = (await conn.execute(_LATEST, {"fee_id": fee_id})).mappings().first()
    return FeeVersion.from_row(dict(row)) if row is not None else None


# --- outcomes ----------------------------------------------------------------------------------
# Kept per (sender, submission id), as the submissions are: two senders may use the same id, and each is
# answered its own outcome only.

# An accepted fee's outcome is never replaced by a later rejection of the same id (a conflict).
_KEEP_ACCEPTED = (
    "ON CONFLICT (sender, submission_id) DO UPDATE SET status = excluded.status, outcome = excluded.outcome, "
    "received_at = now() WHERE outcomes.status <> 'accepted' OR excluded.status = 'accepted'"
)
# Protection's outcome names the fee, not its sender: the fee's submission says whose it is.
# Through the driver, with the poll's inbox record when the poll hands it over (`store_assessed`).
_STORE_ASSESSED = (
    "INSERT INTO outcomes (sender, submission_id, status, outcome, patient_key) "
    "SELECT s.sender, s.submission_id, 'accepted', u.outcome, s.patient_key "
    "FROM unnest($1::uuid[], $2::bytea[]) AS u(fee_id, outcome) "
    "JOIN submissions s ON s.fee_id = u.fee_id "
    "ORDER BY s.sender, s.submission_id " + _KEEP_ACCEPTED
)
_KEEP_REJECTIONS = text(
    "INSERT INTO outcomes (sender, submission_id, status, outcome, patient_key) "
    "SELECT u.sender, u.submission_id, 'rejected', u.outcome, s.patient_key "
    "FROM unnest(CAST(:senders AS text[]), CAST(:submission_ids AS text[]), CAST(:outcomes AS bytea[])) "
    "AS u(sender, submission_id, outcome) LEFT JOIN submissions s USING (sender, submission_id) "
    "ORDER BY u.sender, u.submission_id " + _KEEP_ACCEPTED
)
_OUTCOMES = text(
    "SELECT o.sender, o.submission_id, o.status, o.outcome FROM outcomes o "
    "JOIN unnest(CAST(:senders AS text[]), CAST(:submission_ids AS text[])) AS k(sender, submission_id) "
    "USING (sender, submission_id)"
)


@dataclass(frozen=True)
class AssessedOutcome:
    """Protection's outcome of a fee: accepted, with what is due."""

    fee_id: UUID
    outcome: bytes


@dataclass(frozen=True)
class Rejection:
    """Registration's own answer refusing an HTTP caller's submission."""

    sender: str
    submission_id: str
    outcome: bytes


@dataclass(frozen=True)
class StoredOutcome:
    submission_id: str
    status: str
    outcome: bytes


async def store_assessed(
    conn: AsyncConnection, outcomes: Sequence[AssessedOutcome], taking_in: TakenIn | None = None
) -> None:
    """Keep each fee's outcome under its submission's key; one outcome per fee in the batch. An outcome of a
    fee registration no longer knows (its patient has left) is not kept. With `taking_in`, the poll's messages
    are recorded in the inbox by the same statement (raises `Redelivered` if one was recorded before)."""
    driver = await driver_connection(conn)
    args = ([o.fee_id for o in outcomes], [o.outcome for o in outcomes])
    await writing_taking_in(driver, _STORE_ASSESSED, args, taking_in)


async def keep_rejections(conn: AsyncConnection, rejections: Sequence[Rejection]) -> None:
    """Keep each rejection under its sender's key; one per key in the list."""
    unique = list({(r.sender, r.submission_id): r for r in rejections}.values())
    if not unique:
        return
    await conn.execute(
        _KEEP_REJECTIONS,
        {
            "senders": [r.sender for r in unique],
            "submission_ids": [r.submission_id for r in unique],
            "outcomes": [r.outcome for r in unique],
        },
    )


async def outcomes(conn: AsyncConnection, keys: Iterable[SubmissionKey]) -> dict[SubmissionKey, StoredOutcome]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await conn.execute(_OUTCOMES, {"senders": [k[0] for k in wanted], "submission_ids": [k[1] for k in wanted]})
    return {
        (row.sender, row.submission_id): StoredOutcome(row.submission_id, row.status, bytes(row.outcome))
        for row in rows
    }


_SUBMISSION_FEE = text("SELECT fee_id FROM submissions WHERE sender = :sender AND submission_id = :submission_id")


async def fee_of_submission(conn: AsyncConnection, key: SubmissionKey) -> UUID | None:
    return (await conn.execute(_SUBMISSION_FEE, {"sender": key[0], "submission_id": key[1]})).scalar()
