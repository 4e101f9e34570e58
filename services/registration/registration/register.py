"""Registering a submission: the one path behind both the Kafka intake and the HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from contracts.events import FeeRegistered
from contracts.integration import FeeOutcome, RejectionReason
from contracts.topics import FEE_OUTCOMES, FEES
from registration import store
from registration.intake import Accepted, Code, Rejected, check_submission
from runtime.patient_key import patient_key
from runtime.transaction import Transaction

SWEDISH_TIME = ZoneInfo("Europe/Stockholm")


def today_in_sweden() -> date:
    return datetime.now(SWEDISH_TIME).date()


async def register_submission(tx: Transaction, raw: bytes, key_secret: str) -> Rejected | FeeRegistered:
    """Check a raw submission and register it. A rejection with a submission id is answered on the
    outcome topic at once; one without is returned for the caller to dead-letter or report."""
    result = check_submission(raw, today_in_sweden())
    if isinstance(result, Rejected):
        if result.submission_id is not None:
            await reject(tx, result.submission_id, result.reasons)
        return result
    return await _register(tx, result, key_secret)


async def reject(tx: Transaction, submission_id: str, reasons: list[RejectionReason]) -> None:
    await tx.send(FEE_OUTCOMES, submission_id, FeeOutcome.rejected(submission_id, reasons).to_json())


async def _register(tx: Transaction, accepted: Accepted, key_secret: str) -> Rejected | FeeRegistered:
    submission = accepted.submission
    fee_id = uuid.uuid4()
    earlier = await store.claim_submission(
        tx.conn, submission.system_id, submission.submission_id, accepted.fingerprint, fee_id
    )
    if earlier is not None:
        if earlier.fingerprint != accepted.fingerprint:
            conflict = Rejected(submission.submission_id, [RejectionReason(
                code=Code.SUBMISSION_CONFLICT, field="submission_id",
                message="this submission id was used before for a different fee",
            )])
            await reject(tx, submission.submission_id, conflict.reasons)
            return conflict
        # A re-send: pass the fee on again so protection answers it with the same outcome.
        fee = await store.latest_version(tx.conn, earlier.fee_id)
        await tx.emit(FEES, fee.patient_key, fee)
        return fee
    fee = FeeRegistered(
        fee_id=fee_id,
        version=1,
        submission_id=submission.submission_id,
        system_id=submission.system_id,
        patient_key=patient_key(accepted.patient.digits, key_secret),
        birth_date=accepted.patient.birth_date,
        visit_date=submission.visit_date,
        care_unit=submission.care_unit,
        registered_by=submission.registered_by,
        fee_type=submission.fee_type,
        fee_amount=submission.fee_amount,
        paid_amount=submission.paid_amount,
        source=submission.source,
        receipt_issuer=submission.receipt_issuer,
        registered_at=datetime.now(UTC),
    )
    await store.add_version(tx.conn, fee)
    await tx.emit(FEES, fee.patient_key, fee)
    return fee
