"""Registration's persistence: submissions seen, every version of every fee, outcomes.

The access grants it decides with are the runtime's shared read model (`runtime.access_grants`).

Statements that serve the submission path take a whole batch at once (arrays or executemany), so a
poll of hundreds of submissions costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT
from sqlalchemy.ext.asyncio import AsyncConnection

from registration.fee_versions import FeeVersion
from runtime.database import driver_connection

SubmissionKey = tuple[str, str]
"""(system_id, submission_id): the idempotency key."""


@dataclass(frozen=True)
class KnownSubmission:
    fee_id: UUID
    fingerprint: str


@dataclass(frozen=True)
class Claim:
    system_id: str
    submission_id: str
    fingerprint: str
    fee_id: UUID
    patient_key: str
    """Every table about a patient carries the key, so that a patient's exit removes the row."""

    @property
    def key(self) -> SubmissionKey:
        return (self.system_id, self.submission_id)


# --- submissions and fee versions -------------------------------------------------------------

_CLAIM = (
    "INSERT INTO submissions (system_id, submission_id, fingerprint, fee_id, patient_key) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[]) "
    "ON CONFLICT DO NOTHING RETURNING system_id, submission_id"
)
_KNOWN = text(
    "SELECT s.system_id, s.submission_id, s.fee_id, s.fingerprint FROM submissions s "
    "JOIN unnest(CAST(:system_ids AS text[]), CAST(:submission_ids AS text[])) AS k(system_id, submission_id) "
    "USING (system_id, submission_id)"
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
_VERSIONS = text("SELECT * FROM fee_versions WHERE fee_id = :fee_id ORDER BY version")
_LATEST = text("SELECT * FROM fee_versions WHERE fee_id = :fee_id ORDER BY version DESC LIMIT 1")
_LOCK_FEE = text("SELECT pg_advisory_xact_lock(hashtext('fee/' || :fee_id))")


async def claim_submissions(conn: AsyncConnection, claims: Sequence[Claim]) -> set[SubmissionKey]:
    """Reserve each submission id for its fee; returns the keys this call won.

    Keys that were used before, or that a concurrent transaction holds, are not won: the caller
    then reads the earlier claim. The keys go in sorted so concurrent batches cannot deadlock.
    """
    if not claims:
        return set()
    ordered = sorted(claims, key=lambda c: c.key)
    driver = await driver_connection(conn)
    rows = await driver.fetch(
        _CLAIM,
        [c.system_id for c in ordered],
        [c.submission_id for c in ordered],
        [c.fingerprint for c in ordered],
        [c.fee_id for c in ordered],
        [c.patient_key for c in ordered],
    )
    return {(row[0], row[1]) for row in rows}


async def known_submissions(
    conn: AsyncConnection, keys: Iterable[SubmissionKey]
) -> dict[SubmissionKey, KnownSubmission]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    result = await conn.execute(
        _KNOWN, {"system_ids": [k[0] for k in wanted], "submission_ids": [k[1] for k in wanted]}
    )
    return {(row.system_id, row.submission_id): KnownSubmission(row.fee_id, row.fingerprint) for row in result}


async def add_versions(conn: AsyncConnection, versions: Sequence[FeeVersion]) -> None:
    if not versions:
        return
    rows = [v.as_row() for v in versions]
    driver = await driver_connection(conn)
    await driver.execute(_ADD_VERSIONS, *([row[column] for row in rows] for column in _VERSION_COLUMNS))


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


async def latest_version(conn: AsyncConnection, fee_id: UUID) -> FeeVersion | None:
    row = (await conn.execute(_LATEST, {"fee_id": fee_id})).mappings().first()
    return FeeVersion.from_row(dict(row)) if row is not None else None


# --- outcomes ----------------------------------------------------------------------------------

_STORE_OUTCOMES = text(
    "INSERT INTO outcomes (submission_id, status, outcome, patient_key) "
    "SELECT u.*, (SELECT s.patient_key FROM submissions s WHERE s.submission_id = u.submission_id LIMIT 1) "
    "FROM unnest(CAST(:submission_ids AS text[]), CAST(:statuses AS text[]), CAST(:outcomes AS bytea[])) "
    "AS u(submission_id, status, outcome) "
    "ON CONFLICT (submission_id) DO UPDATE SET status = excluded.status, outcome = excluded.outcome, "
    "received_at = now() "
    # An accepted fee's outcome is never replaced by a later rejection of the same id (a conflict).
    "WHERE outcomes.status <> 'accepted' OR excluded.status = 'accepted'"
)
_OUTCOMES = text(
    "SELECT submission_id, status, outcome FROM outcomes WHERE submission_id = ANY(:submission_ids)"
).bindparams(bindparam("submission_ids", type_=ARRAY(TEXT)))


@dataclass(frozen=True)
class StoredOutcome:
    submission_id: str
    status: str
    outcome: bytes


async def store_outcomes(conn: AsyncConnection, outcomes: Sequence[StoredOutcome]) -> None:
    """Keep the outcome of each submission; one row per submission id in the batch."""
    if not outcomes:
        return
    ordered = sorted(outcomes, key=lambda o: o.submission_id)
    await conn.execute(
        _STORE_OUTCOMES,
        {
            "submission_ids": [o.submission_id for o in ordered],
            "statuses": [o.status for o in ordered],
            "outcomes": [o.outcome for o in ordered],
        },
    )


async def outcomes(conn: AsyncConnection, submission_ids: Iterable[str]) -> dict[str, StoredOutcome]:
    wanted = sorted(set(submission_ids))
    if not wanted:
        return {}
    rows = await conn.execute(_OUTCOMES, {"submission_ids": wanted})
    return {row.submission_id: StoredOutcome(row.submission_id, row.status, bytes(row.outcome)) for row in rows}


_SUBMISSION_FEE = text("SELECT fee_id FROM submissions WHERE submission_id = :submission_id LIMIT 1")


async def fee_of_submission(conn: AsyncConnection, submission_id: str) -> UUID | None:
    return (await conn.execute(_SUBMISSION_FEE, {"submission_id": submission_id})).scalar()
