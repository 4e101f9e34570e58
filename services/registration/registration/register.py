"""Registering submissions: the one path behind both the Kafka intake and `POST /v1/fees`.

It takes a list (a poll's worth from Kafka, or the one submission of an HTTP request) and reads and
writes with one statement for all of them: grants (read), idempotency keys, fee versions, the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.authorization import Action
from contracts.integration import FeeOutcome, FeeSubmission, RejectionReason
from contracts.topics import FEE_OUTCOMES, FEES
from registration import store
from registration.fees import FeeVersion
from registration.intake import Accepted, Code, Rejected, check_submission, reason
from runtime import access_grants
from runtime.audit import record_access
from runtime.identity import Caller
from runtime.patient_key import patient_key
from runtime.transaction import Transaction

SWEDISH_TIME = ZoneInfo("Europe/Stockholm")


def today_in_sweden() -> date:
    return datetime.now(SWEDISH_TIME).date()


@dataclass(frozen=True)
class Incoming:
    """One submission as it arrived, and how: `tx` emits on its behalf (its correlation and cause)."""

    raw: bytes
    tx: Transaction
    caller: Caller | None = None
    """HTTP only: who calls. None for Kafka, where the submission comes through the system it names."""

    def through_system(self, submission: FeeSubmission) -> str | None:
        """The integrated system to be approved: the one a Kafka submission names, or the one an HTTP
        caller comes through (None for a person at the web application)."""
        return submission.system_id if self.caller is None else self.caller.system_id


@dataclass(frozen=True)
class Registered:
    """The submission's fee: registered now, or earlier under the same id with the same content."""

    submission_id: str
    fee_id: uuid.UUID
    patient_key: str | None
    resent: bool
    earlier_outcome: bytes | None = None
    """For a re-send: the outcome the first one got, if it has come."""


Result = Registered | Rejected


async def register_submissions(items: Sequence[Incoming], conn: AsyncConnection, key_secret: str) -> list[Result]:
    """Check, authorize and register each submission; answer each rejection on the outcome topic.

    Returns one result per item, in order. A rejection without a submission id is not answered
    (there is no key to answer under): the caller dead-letters it or reports it.
    """
    today = today_in_sweden()
    results: list[Result | None] = [None] * len(items)
    checked: dict[int, Accepted] = {}
    for index, item in enumerate(items):
        result = check_submission(item.raw, today)
        if isinstance(result, Accepted):
            refusal = _refuse_other_caller(item, result)
            if refusal is None:
                checked[index] = result
            else:
                results[index] = refusal
        else:
            results[index] = result

    authorized = await _authorize(items, checked, conn, today, results)
    await _claim_and_register(items, authorized, conn, key_secret, results)

    for item, answer in zip(items, results, strict=True):
        assert answer is not None
        if isinstance(answer, Rejected) and answer.submission_id is not None:
            await reject(item.tx, answer.submission_id, answer.reasons)
    return [r for r in results if r is not None]


def _refuse_other_caller(item: Incoming, accepted: Accepted) -> Rejected | None:
    submission = accepted.submission
    if item.caller is None:
        return None
    if submission.registered_by != item.caller.hsa_id:
        return Rejected(
            submission.submission_id,
            [
                reason(
                    Code.REGISTERED_BY_NOT_CALLER, "registered_by", "a fee is registered in the caller's own name only"
                )
            ],
        )
    if item.caller.system_id is not None and submission.system_id != item.caller.system_id:
        return Rejected(
            submission.submission_id,
            [reason(Code.SYSTEM_NOT_CALLER, "system_id", "the submission must name the system it is sent through")],
        )
    return None


async def _authorize(
    items: Sequence[Incoming],
    checked: dict[int, Accepted],
    conn: AsyncConnection,
    today: date,
    results: list[Result | None],
) -> dict[int, Accepted]:
    keys = [
        key
        for index, accepted in checked.items()
        for key in access_grants.keys_for(
            accepted.submission.care_unit,
            accepted.submission.registered_by,
            items[index].through_system(accepted.submission),
        )
    ]
    grants = await access_grants.grants(conn, keys)
    authorized = {}
    for index, accepted in checked.items():
        submission = accepted.submission
        decision = grants.decide(
            Action.REGISTER_FEE,
            acting_unit=submission.care_unit,
            employee=submission.registered_by,
            system_id=items[index].through_system(submission),
            today=today,
        )
        if decision.allowed:
            authorized[index] = accepted
        else:
            assert decision.denial is not None
            results[index] = Rejected(
                submission.submission_id, [reason(decision.denial, decision.field, decision.message)]
            )
    return authorized


async def _claim_and_register(
    items: Sequence[Incoming],
    authorized: dict[int, Accepted],
    conn: AsyncConnection,
    key_secret: str,
    results: list[Result | None],
) -> None:
    # The first of each idempotency key in the list claims it; the rest are re-sends of it or conflicts.
    claims: dict[store.SubmissionKey, store.Claim] = {}
    for accepted in authorized.values():
        submission = accepted.submission
        key = (submission.system_id, submission.submission_id)
        if key not in claims:
            claims[key] = store.Claim(
                *key,
                fingerprint=accepted.fingerprint,
                fee_id=uuid.uuid4(),
                patient_key=patient_key(accepted.patient.digits, key_secret),
            )
    won = await store.claim_submissions(conn, list(claims.values()))
    earlier = await store.known_submissions(conn, [key for key in claims if key not in won])
    owners = {
        key: store.KnownSubmission(claim.fee_id, claim.fingerprint) for key, claim in claims.items() if key in won
    } | earlier

    now = datetime.now(UTC)
    new_versions: list[tuple[int, FeeVersion]] = []
    resent: dict[int, store.KnownSubmission] = {}
    registering: set[store.SubmissionKey] = set()
    for index, accepted in authorized.items():
        submission = accepted.submission
        key = (submission.system_id, submission.submission_id)
        owner = owners[key]
        if owner.fingerprint != accepted.fingerprint:
            results[index] = Rejected(
                submission.submission_id,
                [
                    reason(
                        Code.SUBMISSION_CONFLICT,
                        "submission_id",
                        "this submission id was used before for a different fee",
                    )
                ],
            )
        elif key in won and key not in registering:
            registering.add(key)
            new_versions.append((index, _first_version(accepted, owner.fee_id, claims[key].patient_key, now)))
        else:
            resent[index] = owner

    await store.add_versions(conn, [version for _, version in new_versions])
    for index, version in new_versions:
        tx = items[index].tx
        await tx.emit(FEES, version.patient_key, version.event())
        await record_access(
            tx,
            patient_key=version.patient_key,
            actor=version.registered_by,
            action="fee.registered",
            system_id=version.system_id,
            care_unit=version.care_unit,
            subject=str(version.fee_id),
        )
        results[index] = Registered(version.submission_id, version.fee_id, version.patient_key, resent=False)

    stored = await store.outcomes(conn, [authorized[index].submission.submission_id for index in resent])
    unanswered: dict[int, uuid.UUID] = {}
    for index, owner in resent.items():
        submission = authorized[index].submission
        outcome = stored.get(submission.submission_id)
        answer = outcome.outcome if outcome is not None and outcome.status == "accepted" else None
        if answer is not None:
            # The same outcome as the first time.
            await items[index].tx.send(FEE_OUTCOMES, submission.submission_id, answer)
        elif items[index].caller is None and (submission.system_id, submission.submission_id) not in won:
            unanswered[index] = owner.fee_id
        results[index] = Registered(submission.submission_id, owner.fee_id, None, resent=True, earlier_outcome=answer)
    await _pass_on_again(items, unanswered, conn)


async def _pass_on_again(items: Sequence[Incoming], unanswered: dict[int, uuid.UUID], conn: AsyncConnection) -> None:
    """A re-send whose first outcome registration has not seen yet: pass the fee on to protection
    again, so the sender is answered for this message too. Only while the fee is as first registered:
    a corrected one is already answered, and protection keeps only its newest version."""
    latest = await store.latest_versions(conn, set(unanswered.values()))
    for index, fee_id in unanswered.items():
        version = latest.get(fee_id)
        if version is not None and version.version == 1:
            await items[index].tx.emit(FEES, version.patient_key, version.event())


def _first_version(accepted: Accepted, fee_id: uuid.UUID, key: str, now: datetime) -> FeeVersion:
    submission = accepted.submission
    return FeeVersion(
        fee_id=fee_id,
        version=1,
        submission_id=submission.submission_id,
        system_id=submission.system_id,
        patient_key=key,
        birth_date=accepted.patient.birth_date,
        visit_date=submission.visit_date,
        care_unit=submission.care_unit,
        registered_by=submission.registered_by,
        fee_type=submission.fee_type,
        fee_amount=submission.fee_amount,
        paid_amount=submission.paid_amount,
        source=submission.source,
        receipt_issuer=submission.receipt_issuer,
        registered_at=now,
    )


async def reject(tx: Transaction, submission_id: str, reasons: list[RejectionReason]) -> None:
    await tx.send(FEE_OUTCOMES, submission_id, FeeOutcome.rejected(submission_id, reasons).to_json())
