"""Registering submissions: the one path behind both the Kafka intake and `POST /v1/fees`.

It takes a list (a poll's worth from Kafka, or the one submission of an HTTP request) and carries
each submission through the steps below, in order. Each step takes the list and returns it, each
submission moved on to its next state or answered; a step reads or writes with one statement for
the whole list: grants (read), exits (read), idempotency keys with the new fees' first versions,
outcomes, the outbox.

    check -> authorize -> refuse exited patients -> claim -> publish new fees -> answer re-sends
    -> pass on again -> answer rejections
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.authorization import Action
from contracts.clock import now, today_in_sweden
from contracts.ids import time_ordered_id
from contracts.integration import FeeOutcome, FeeSubmission, RejectionReason
from contracts.topics import FEES, INTERNAL_FEE_OUTCOMES, SYSTEM_FEE_OUTCOMES, Topic
from registration import store
from registration.fee_versions import FeeVersion
from registration.submission_rules import (
    Accepted,
    Rejected,
    RejectionCode,
    VisitDates,
    check_submission,
    reason,
    submission_id_in,
)
from runtime import access_grants, database, membership
from runtime.audit import record_access
from runtime.identity import Caller
from runtime.patient_key import patient_key
from runtime.transaction import Transaction


def sender_of(system_id: str | None, person: str | None) -> str:
    """The namespace of a sender's submission ids: the integrated system's, or (a person registering
    through no system) the person's own. The prefixes keep the two apart whatever a system id holds,
    so a person can never take a submission id of a system's, nor a system a person's."""
    if system_id is not None:
        return f"system/{system_id}"
    assert person is not None, "a submission through no system is a person's"
    return f"person/{person}"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One submission as it arrived, and how: `tx` emits on its behalf (its correlation and cause)."""

    raw: bytes
    tx: Transaction
    caller: Caller | None = None
    """HTTP only: who calls."""
    system_topic: str | None = None
    """Kafka only: the integrated system whose own topic it came on, which only that system may write.
    That is the system it comes through, whatever the body says."""

    @property
    def sender_system(self) -> str | None:
        """The integrated system it comes through, as proven: by the topic, or by the HTTP caller."""
        return self.system_topic if self.caller is None else self.caller.system_id

    @property
    def sender(self) -> str:
        """Whose submission ids these are (see `sender_of`)."""
        if self.caller is None:
            assert self.system_topic is not None, "a Kafka submission comes on a system's topic"
            return sender_of(self.system_topic, None)
        return sender_of(self.caller.system_id, self.caller.hsa_id)

    @property
    def answer_topic(self) -> Topic:
        """Where its outcome goes: the system's own outcome topic, or (HTTP) the internal one the
        request waits on."""
        if self.system_topic is not None:
            return SYSTEM_FEE_OUTCOMES.of(self.system_topic)
        return INTERNAL_FEE_OUTCOMES


@dataclass(frozen=True, slots=True)
class Registered:
    """The submission's fee: registered now, or earlier under the same id with the same content."""

    submission_id: str
    fee_id: uuid.UUID
    patient_key: str | None
    resent: bool
    earlier_outcome: bytes | None = None
    """For a re-send: the outcome the first one got, if it has come."""


Result = Registered | Rejected


# --- a submission's states on its way through ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answered:
    """Done: registered or rejected. What is left is to tell the sender (a rejection, at the end)."""

    incoming: Incoming
    result: Result


@dataclass(frozen=True, slots=True)
class Checked:
    """The submission passed the rules (and, over HTTP, names its caller): next, may they register it?"""

    incoming: Incoming
    accepted: Accepted
    patient_key: str
    """The pseudonym the identity number is turned into at the edge (computed once, here)."""

    @property
    def submission(self) -> FeeSubmission:
        return self.accepted.submission

    @property
    def key(self) -> store.SubmissionKey:
        return (self.incoming.sender, self.submission.submission_id)

    @property
    def through_system(self) -> str | None:
        """The integrated system to be approved: the one whose topic a Kafka submission came on, or the
        one an HTTP caller comes through (None for a person at the web application)."""
        return self.incoming.sender_system

    def rejected(self, *reasons: RejectionReason) -> Answered:
        return Answered(self.incoming, Rejected(self.submission.submission_id, list(reasons)))


@dataclass(frozen=True, slots=True)
class Registering:
    """Authorized, and the first of its idempotency key: it registers a new fee, this its first version."""

    incoming: Incoming
    version: FeeVersion


@dataclass(frozen=True, slots=True)
class Resent:
    """Authorized, with the content of a fee registered under its key before (or earlier in this list)."""

    checked: Checked
    fee_id: uuid.UUID
    claimed_now: bool
    """Its key was claimed by this list: its first copy is being registered right now."""


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A Kafka re-send whose first outcome registration has not seen: the fee is passed on again."""

    resent: Resent


# --- the path ----------------------------------------------------------------------------------


async def register_submissions(
    items: Sequence[Incoming], conn: AsyncConnection, key_secret: str, region: str, first_visit_date: date
) -> list[Result]:
    """Check, authorize and register each submission; answer each rejection on the outcome topic.
    `region` is the one this deployment serves: a fee is registered only for a unit of it;
    `first_visit_date` the first the region's rules cover.

    Returns one result per item, in order. A rejection without a submission id is not answered
    (there is no key to answer under): the caller dead-letters it or reports it.
    """
    today = today_in_sweden()
    checked = check(items, VisitDates(first_visit_date, today), key_secret)
    authorized = await authorize(checked, conn, today, region)
    members = await refuse_exited_patients(authorized, conn)
    claimed = await claim(members, conn, now())
    published = await publish_new_fees(claimed)
    answered = await answer_resent(published, conn)
    passed_on = await pass_on_again(answered, conn)
    return await answer_rejections(passed_on, conn)


async def register_or_refuse(
    items: Sequence[Incoming], tx: Transaction, key_secret: str, region: str, first_visit_date: date
) -> list[Result]:
    """`register_submissions`, with the database's refusal of a value as the last line of defence.

    The checks let nothing through that the database cannot store (a number out of its range, a
    character its text cannot hold); should one slip through all the same, a lone submission is rejected
    `not_storable` instead of being retried into a dead letter. A list is refused whole (the error is
    raised), and the runtime then handles each of its messages alone; so is a lone submission on a
    consumer's first hearing of its poll (`tx.first_hearing`), to be answered when it is heard alone. `tx`
    holds nothing emitted before (the poll's or the request's own transaction): what the rolled-back work
    emitted is discarded."""
    if len(items) != 1 or tx.first_hearing:
        # Refused whole whatever happens here, and its transaction rolled back by the runtime: a savepoint
        # would only cost two round trips on every poll for a refusal that the checks make all but impossible.
        return await register_submissions(items, tx.conn, key_secret, region, first_visit_date)
    try:
        async with database.savepoint(tx.conn, "registering"):
            return await register_submissions(items, tx.conn, key_secret, region, first_visit_date)
    except DBAPIError as error:
        if not refused_as_data(error):
            raise
    tx.discard()
    [item] = items
    refusal = Rejected(submission_id_in(item.raw), [_NOT_STORABLE])
    return await answer_rejections([Answered(item, refusal)], tx.conn)


def refused_as_data(error: BaseException) -> bool:
    """The database (SQLSTATE class 22, data exception) or its driver (a parameter it cannot encode)
    refused a value: sending the same again can never succeed."""
    cause: BaseException | None = error
    for _ in range(4):  # SQLAlchemy's error, its adapted driver error, the driver's own
        if isinstance(cause, (asyncpg.DataError, asyncpg_base.DataError)):
            return True
        if cause is None:
            return False
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False


_NOT_STORABLE = reason(RejectionCode.NOT_STORABLE, None, "a value of the submission cannot be stored")


def check(items: Sequence[Incoming], visits: VisitDates, key_secret: str) -> list[Checked | Answered]:
    """The rules of a submission; over HTTP also that it is the caller's own, sent through their system."""
    return [_checked(item, check_submission(item.raw, visits), key_secret) for item in items]


def _checked(item: Incoming, result: Accepted | Rejected, key_secret: str) -> Checked | Answered:
    if isinstance(result, Rejected):
        return Answered(item, result)
    checked = _with_sender_system(Checked(item, result, patient_key(result.patient.digits, key_secret)))
    if item.caller is not None and checked.submission.registered_by != item.caller.hsa_id:
        return checked.rejected(
            reason(
                RejectionCode.REGISTERED_BY_NOT_CALLER,
                "registered_by",
                "a fee is registered in the caller's own name only",
            )
        )
    # A fee comes through the system that is its sender, proven by topic or caller, or through none:
    # a person registering at the web application names no system (its fee has none).
    if checked.submission.system_id not in (None, item.sender_system):
        return checked.rejected(
            reason(
                RejectionCode.SYSTEM_NOT_CALLER,
                "system_id",
                "a submission names only the system it is sent through, and none when it comes through none",
            )
        )
    return checked


def _with_sender_system(checked: Checked) -> Checked:
    """A submission that leaves `system_id` out comes through the system that sent it; filled in before
    its fingerprint is taken, so a re-send that names the system is the same submission."""
    submission, sender = checked.submission, checked.incoming.sender_system
    if submission.system_id is not None or sender is None:
        return checked
    filled = submission.model_copy(update={"system_id": sender})
    return Checked(checked.incoming, Accepted(filled, checked.accepted.patient), checked.patient_key)


async def authorize(
    items: Sequence[Checked | Answered], conn: AsyncConnection, today: date, region: str
) -> list[Checked | Answered]:
    """May the employee register for the unit, through the system? One read of every grant the list needs."""
    pending = [item for item in items if isinstance(item, Checked)]
    keys = [
        key
        for item in pending
        for key in access_grants.keys_for(item.submission.care_unit, item.submission.registered_by, item.through_system)
    ]
    grants = await access_grants.grants(conn, keys)
    authorized: list[Checked | Answered] = []
    for item in items:
        if isinstance(item, Answered):
            authorized.append(item)
            continue
        decision = grants.decide(
            Action.REGISTER_FEE,
            region=region,
            acting_unit=item.submission.care_unit,
            employee=item.submission.registered_by,
            system_id=item.through_system,
            today=today,
        )
        if decision.allowed:
            authorized.append(item)
        else:
            assert decision.denial is not None
            authorized.append(item.rejected(reason(decision.denial, decision.field, decision.message)))
    return authorized


async def refuse_exited_patients(
    items: Sequence[Checked | Answered], conn: AsyncConnection
) -> list[Checked | Answered]:
    """A patient who has left e-frikort (utträde) and not re-entered has no ledger to count a fee in: the
    fee is refused, so the sender hears so now instead of never (the patient keeps the paper receipt).
    Asked after authorization, so that only those who may register learn it."""
    pending = [item for item in items if isinstance(item, Checked)]
    gone = await membership.exited(conn, [item.patient_key for item in pending])
    return [
        item.rejected(_PATIENT_EXITED) if isinstance(item, Checked) and item.patient_key in gone else item
        for item in items
    ]


_PATIENT_EXITED = reason(
    RejectionCode.PATIENT_EXITED,
    "patient_id",
    "the patient has left e-frikort: no fee is registered for them until they re-enter",
)


async def claim(
    items: Sequence[Checked | Answered], conn: AsyncConnection, at: datetime
) -> list[Registering | Resent | Answered]:
    """Reserve each idempotency key for a new fee, and store the first version of each fee whose key is won
    (one statement, `store.claim_submissions`). The first of a key in the list claims it; a later one, or one
    whose key was claimed before, is a re-send of that fee, or a conflict when its content differs."""
    first_of_key: dict[store.SubmissionKey, Checked] = {}
    for item in items:
        if isinstance(item, Checked):
            first_of_key.setdefault(item.key, item)
    claims = {
        key: store.Claim(
            *key,
            fingerprint=first.accepted.fingerprint,
            first_version=_first_version(first.accepted, time_ordered_id(at), first.patient_key, at),
        )
        for key, first in first_of_key.items()
    }
    won = await store.claim_submissions(conn, list(claims.values()))
    earlier = await store.known_submissions(conn, [key for key in claims if key not in won])
    claimed: list[Registering | Resent | Answered] = []
    for item in items:
        if isinstance(item, Answered):
            claimed.append(item)
            continue
        mine = claims[item.key]
        fee_id = mine.first_version.fee_id
        owner = store.KnownSubmission(fee_id, mine.fingerprint) if item.key in won else earlier[item.key]
        if owner.fingerprint != item.accepted.fingerprint:
            claimed.append(item.rejected(_CONFLICT))
        elif item.key in won and first_of_key[item.key] is item:
            claimed.append(Registering(item.incoming, mine.first_version))
        else:
            claimed.append(Resent(item, owner.fee_id, claimed_now=item.key in won))
    return claimed


_CONFLICT = reason(
    RejectionCode.SUBMISSION_CONFLICT, "submission_id", "this submission id was used before for a different fee"
)


async def publish_new_fees(items: Sequence[Registering | Resent | Answered]) -> list[Resent | Answered]:
    """Publish each new fee's first version (stored with its claim) with its audit entry."""
    published: list[Resent | Answered] = []
    for item in items:
        if not isinstance(item, Registering):
            published.append(item)
            continue
        version, tx = item.version, item.incoming.tx
        await tx.emit(FEES, version.patient_key, version.event(on_system_topic=item.incoming.system_topic is not None))
        await record_access(
            tx,
            patient_key=version.patient_key,
            actor=version.registered_by,
            action="fee.registered",
            system_id=version.system_id,
            care_unit=version.care_unit,
            subject=str(version.fee_id),
        )
        registered = Registered(version.submission_id, version.fee_id, version.patient_key, resent=False)
        published.append(Answered(item.incoming, registered))
    return published


async def answer_resent(items: Sequence[Resent | Answered], conn: AsyncConnection) -> list[Unanswered | Answered]:
    """A re-send gets the outcome its first copy got, sent again. A Kafka re-send of a fee registered
    before this list whose outcome has not come yet is left unanswered, for the next step."""
    stored = await store.outcomes(conn, [item.checked.key for item in items if isinstance(item, Resent)])
    answered: list[Unanswered | Answered] = []
    for item in items:
        if isinstance(item, Answered):
            answered.append(item)
            continue
        incoming, submission_id = item.checked.incoming, item.checked.submission.submission_id
        outcome = stored.get(item.checked.key)
        earlier = outcome.outcome if outcome is not None and outcome.status == "accepted" else None
        if earlier is not None:
            await incoming.tx.send(incoming.answer_topic, submission_id, earlier)
        elif incoming.caller is None and not item.claimed_now:
            answered.append(Unanswered(item))
            continue
        registered = Registered(submission_id, item.fee_id, None, resent=True, earlier_outcome=earlier)
        answered.append(Answered(incoming, registered))
    return answered


async def pass_on_again(items: Sequence[Unanswered | Answered], conn: AsyncConnection) -> list[Answered]:
    """Pass an unanswered re-send's fee on to protection again, so the sender is answered for this
    message too. Only while the fee is as first registered: a corrected one is already answered, and
    protection keeps only its newest version."""
    latest = await store.latest_versions(conn, {item.resent.fee_id for item in items if isinstance(item, Unanswered)})
    passed_on: list[Answered] = []
    for item in items:
        if isinstance(item, Answered):
            passed_on.append(item)
            continue
        version = latest.get(item.resent.fee_id)
        if version is not None and version.version == 1:
            await item.resent.checked.incoming.tx.emit(FEES, version.patient_key, version.event(on_system_topic=True))
        submission_id = item.resent.checked.submission.submission_id
        registered = Registered(submission_id, item.resent.fee_id, None, resent=True)
        passed_on.append(Answered(item.resent.checked.incoming, registered))
    return passed_on


async def answer_rejections(items: Sequence[Answered], conn: AsyncConnection) -> list[Result]:
    """Every rejection with a submission id is answered on the outcome topic; one without has no key to
    be answered under. An HTTP caller's rejection is also kept under its sender, for the polling URL: the
    internal outcome topic's copy names no sender to keep it under."""
    kept: list[store.Rejection] = []
    for item in items:
        if isinstance(item.result, Rejected) and item.result.submission_id is not None:
            rejection = FeeOutcome.rejected(item.result.submission_id, item.result.reasons).to_json()
            await item.incoming.tx.send(item.incoming.answer_topic, item.result.submission_id, rejection)
            if item.incoming.caller is not None:
                kept.append(store.Rejection(item.incoming.sender, item.result.submission_id, rejection))
    await store.keep_rejections(conn, kept)
    return [item.result for item in items]


def _first_version(accepted: Accepted, fee_id: uuid.UUID, key: str, at: datetime) -> FeeVersion:
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
        registered_at=at,
    )
