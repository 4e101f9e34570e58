"""Registration's persistence: submissions seen, and every version of every fee."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import FeeRegistered


@dataclass(frozen=True)
class KnownSubmission:
    fee_id: UUID
    fingerprint: str


_CLAIM = text(
    "INSERT INTO submissions (system_id, submission_id, fingerprint, fee_id) "
    "VALUES (:system_id, :submission_id, :fingerprint, :fee_id) ON CONFLICT DO NOTHING RETURNING fee_id"
)
_KNOWN = text(
    "SELECT fee_id, fingerprint FROM submissions WHERE system_id = :system_id AND submission_id = :submission_id"
)
_ADD_VERSION = text(
    "INSERT INTO fee_versions (fee_id, version, submission_id, system_id, patient_key, birth_date, visit_date, "
    "care_unit, registered_by, fee_type, fee_amount, paid_amount, source, receipt_issuer, registered_at) VALUES "
    "(:fee_id, :version, :submission_id, :system_id, :patient_key, :birth_date, :visit_date, :care_unit, "
    ":registered_by, :fee_type, :fee_amount, :paid_amount, :source, :receipt_issuer, :registered_at)"
)
_LATEST = text("SELECT * FROM fee_versions WHERE fee_id = :fee_id ORDER BY version DESC LIMIT 1")


async def claim_submission(
    conn: AsyncConnection, system_id: str, submission_id: str, fingerprint: str, fee_id: UUID
) -> KnownSubmission | None:
    """Reserve the submission id for this fee. Returns the earlier claim when the id was used before.

    Concurrent claims of one id wait on the primary key, so exactly one of them wins.
    """
    params = {"system_id": system_id, "submission_id": submission_id}
    won = (await conn.execute(_CLAIM, {**params, "fingerprint": fingerprint, "fee_id": fee_id})).scalar()
    if won is not None:
        return None
    row = (await conn.execute(_KNOWN, params)).one()
    return KnownSubmission(fee_id=row.fee_id, fingerprint=row.fingerprint)


async def add_version(conn: AsyncConnection, fee: FeeRegistered) -> None:
    await conn.execute(_ADD_VERSION, fee.model_dump(mode="python"))


async def latest_version(conn: AsyncConnection, fee_id: UUID) -> FeeRegistered:
    row = (await conn.execute(_LATEST, {"fee_id": fee_id})).mappings().one()
    return FeeRegistered.model_validate(dict(row))
