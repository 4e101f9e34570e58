"""Registration's HTTP API: register a fee (answering with the amount due), read, correct and delete one,
and list a patient's fees.

Thin routes: they call the same registration path as the Kafka intake, the fee rules and the store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.authorization import Action
from contracts.clock import now, today_in_sweden
from contracts.integration import (
    MAX_NESTING_DEPTH,
    MAX_SUBMISSION_BYTES,
    FeeOutcome,
    FeeSource,
    FeeSubmission,
    IsoDate,
    OutcomeStatus,
    RejectionReason,
    Text,
    nested_deeper_than,
)
from contracts.topics import FEES
from registration import store
from registration.fee_versions import Correction, FeeVersion
from registration.outcome_waiters import OutcomeWaiters
from registration.registering import Incoming, Registered, register_or_refuse, sender_of
from registration.submission_rules import (
    AUTHORIZATION_CODES,
    RegionCoverage,
    Rejected,
    RejectionCode,
    VisitDates,
    check_fee_values,
    readable_submission_id,
    reason,
    shape_reasons,
)
from runtime.access_grants import require
from runtime.audit import audit_caller
from runtime.free_text import FreeText, NoControlCharacters
from runtime.http import ActingUnit, Caller, CurrentCaller, PatientRequest, SettingsDep, UnitOfWorkDep, provided
from runtime.problems import Problem, Reason, problem_responses, refusal
from runtime.service import Runtime
from runtime.transaction import Transaction

Waiters = Annotated[OutcomeWaiters, Depends(provided(OutcomeWaiters))]
"""The requests of this process waiting for outcomes, and how long each waits."""
Coverage = Annotated[RegionCoverage, Depends(provided(RegionCoverage))]
"""The first visit date the region's rules cover."""

_STATUS_OF_CODE = {
    RejectionCode.MALFORMED_JSON.value: 400,
    RejectionCode.TOO_DEEP.value: 400,
    RejectionCode.TOO_LARGE.value: 413,
    RejectionCode.SUBMISSION_CONFLICT.value: 409,
    RejectionCode.REGISTERED_BY_NOT_CALLER.value: 403,
    RejectionCode.SYSTEM_NOT_CALLER.value: 403,
    **dict.fromkeys(AUTHORIZATION_CODES, 403),
}


PROBLEM_RESPONSES = problem_responses(
    {
        400: "Not JSON, not one object, or nested too deep",
        401: "No trusted identity",
        403: "Not allowed: the code says what is missing",
        404: "No such fee or submission",
        409: "Conflict",
        412: "The fee has changed since the version given",
        413: "Too large",
        422: "Not valid: every reason with its code and field",
    }
)


def not_done(status: int, title: str, reasons: Sequence[Reason]) -> Problem:
    """The refusal of a submission or of a change to a fee, every reason listed."""
    # What registration refuses is a submission or a change of one: a reason without a field is about it whole.
    return refusal(status, title, reasons, whole="submission")


class Pending(BaseModel):
    """Protection has not assessed the fee yet: poll `outcome_url`."""

    submission_id: str
    status: str = "pending"
    fee_id: str
    outcome_url: str


class FeeVersionView(BaseModel):
    version: int
    change: str
    changed_by: str | None
    changed_at: datetime | None
    reason: str | None
    deleted: bool
    visit_date: date
    fee_type: str
    fee_amount: int
    paid_amount: int | None


class FeeView(BaseModel):
    """A fee as it now stands, and every version of it, oldest first."""

    fee_id: uuid.UUID
    version: int
    deleted: bool
    submission_id: str
    system_id: str | None
    care_unit: str
    registered_by: str
    registered_at: datetime
    visit_date: date
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    source: FeeSource
    receipt_issuer: str | None
    versions: list[FeeVersionView]


class PatientFeeView(BaseModel):
    """One of a patient's fees as it now stands (its latest version), to correct or delete by `fee_id`."""

    fee_id: uuid.UUID
    visit_date: date
    care_unit: str
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    source: FeeSource
    receipt_issuer: str | None
    version: int = Field(description="The version to name in `If-Match` when correcting or deleting it.")
    deleted: bool
    registered_at: datetime


class CorrectionRequest(BaseModel):
    """A correction (rättelse): the values to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    fee_amount: StrictInt | None = Field(default=None, description="Tariff fee in whole kronor.")
    paid_amount: StrictInt | None = None
    visit_date: IsoDate | None = None
    fee_type: Text | None = Field(default=None, max_length=64)
    reason: Annotated[StrictStr, NoControlCharacters] | None = Field(
        default=None, max_length=500, description="Why, for the fee's history."
    )


def _view(versions: list[FeeVersion]) -> FeeView:
    current = versions[-1]
    return FeeView(
        fee_id=current.fee_id,
        version=current.version,
        deleted=current.deleted,
        submission_id=current.submission_id,
        system_id=current.system_id,
        care_unit=current.care_unit,
        registered_by=current.registered_by,
        registered_at=current.registered_at,
        visit_date=current.visit_date,
        fee_type=current.fee_type,
        fee_amount=current.fee_amount,
        paid_amount=current.paid_amount,
        source=current.source,
        receipt_issuer=current.receipt_issuer,
        versions=[
            FeeVersionView(
                version=v.version,
                change=v.change.value,
                changed_by=v.changed_by or v.registered_by,
                changed_at=v.changed_at or v.registered_at,
                reason=v.reason,
                deleted=v.deleted,
                visit_date=v.visit_date,
                fee_type=v.fee_type,
                fee_amount=v.fee_amount,
                paid_amount=v.paid_amount,
            )
            for v in versions
        ],
    )


def _fee_response(versions: list[FeeVersion]) -> JSONResponse:
    return JSONResponse(_view(versions).model_dump(mode="json"), headers={"ETag": f'"{versions[-1].version}"'})


_VERSION = re.compile(r"[0-9]{1,9}", re.ASCII)
"""A version as an ETag names it: ASCII digits (`isdigit` would take "²", which `int` refuses)."""


def _expected_version(if_match: str | None) -> int | str | None:
    """The version an If-Match names; the header's text when it names none."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    return int(tag) if _VERSION.fullmatch(tag) else if_match


async def _authorized_on_fee(
    conn: AsyncConnection, caller: Caller, action: Action, fee: FeeVersion, acting_unit: str | None, region: str
) -> str:
    """The unit the caller acts for in doing `action` on the fee, or 403. It is the one they name, else any
    unit where they hold a grant that allows it; either way a unit of the `region` this deployment serves."""
    return await require(conn, caller, action, region=region, acting_unit=acting_unit, target_unit=fee.care_unit)


router = APIRouter(prefix="/v1", tags=["fees"], responses=PROBLEM_RESPONSES)


@router.post(
    "/fees",
    summary="Register a fee and answer with what the patient pays",
    response_model=FeeOutcome,
    responses={202: {"model": Pending, "description": "Registered; not assessed yet: poll the Location"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": FeeSubmission.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    },
)
async def register_fee(
    request: Request,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    waiters: Waiters,
    coverage: Coverage,
) -> Response:
    """The integration contract's submission, registered in the caller's name. Answers with the outcome
    (amount due, protection summary) once protection has assessed the fee, waiting at most
    `EFRIKORT_REGISTRATION_REPLY_TIMEOUT_S`; else 202 with the URL to poll."""
    title = "The fee was not registered"
    body = await _bounded_body(request, title)
    secret = settings.patient_key_secret.get_secret_value()
    async with work.begin() as tx:
        [result] = await register_or_refuse(
            [Incoming(body, tx, caller)], tx, secret, settings.region, coverage.first_visit_date
        )
    if isinstance(result, Rejected):
        raise _refused(title, result.reasons)
    return await _answer(result, sender_of(caller.system_id, caller.hsa_id), waiters)


def _refused(title: str, reasons: Sequence[RejectionReason]) -> Problem:
    """The refusal, with its reasons' status (the highest, when they differ: 422 over 413 over 403 over 400)."""
    return not_done(max((_STATUS_OF_CODE.get(r.code, 422) for r in reasons), default=422), title, reasons)


_DECLARED_LENGTH = re.compile(r"[0-9]{1,20}", re.ASCII)


async def _bounded_body(request: Request, title: str) -> bytes:
    """The body, read no further than one byte past the most a submission may be, which the intake then
    refuses as too large: a sender cannot make the service take in, and hold, more than that. A body
    declared larger than that is refused before any of it is read."""
    declared = request.headers.get("content-length", "")
    if _DECLARED_LENGTH.fullmatch(declared) and int(declared) > MAX_SUBMISSION_BYTES:
        raise not_done(413, title, [_TOO_LARGE])
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SUBMISSION_BYTES:
            break
    return bytes(body[: MAX_SUBMISSION_BYTES + 1])


_TOO_LARGE = reason(RejectionCode.TOO_LARGE, None, f"a body may be at most {MAX_SUBMISSION_BYTES} bytes")
_TOO_DEEP = reason(RejectionCode.TOO_DEEP, None, f"arrays and objects may nest at most {MAX_NESTING_DEPTH} deep")


async def _answer(registered: Registered, sender: str, waiters: OutcomeWaiters) -> Response:
    """The outcome that answers the fee as registered, once it comes; else 202 with the URL to poll."""
    fee_id = str(registered.fee_id)

    def answers(outcome: bytes) -> bool:
        parsed = FeeOutcome.model_validate_json(outcome)
        return parsed.status is OutcomeStatus.ACCEPTED and parsed.fee_id == fee_id

    key = (sender, registered.submission_id)
    outcome = registered.earlier_outcome or await waiters.wait(fee_id, key, answers)
    if outcome is not None:
        return Response(outcome, media_type="application/json")
    return _pending(registered.submission_id, fee_id)


async def answer_from_the_database(runtime: Runtime[Any], *, waiters: OutcomeWaiters) -> None:
    """The outcomes requests wait for that landed in another replica: looked up for all of them at once."""

    async def stored(keys: Sequence[store.SubmissionKey]) -> dict[store.SubmissionKey, bytes]:
        async with runtime.engine.connect() as conn:
            return {key: found.outcome for key, found in (await store.outcomes(conn, keys)).items()}

    await waiters.look_in_database(stored)


def _pending(submission_id: str, fee_id: str) -> JSONResponse:
    # Quoted: a submission id may hold any printable character, a header only Latin-1, a path no "/" or "?".
    url = f"/v1/submissions/{quote(submission_id, safe='')}/outcome"
    pending = Pending(submission_id=submission_id, fee_id=fee_id, outcome_url=url)
    return JSONResponse(pending.model_dump(), status_code=202, headers={"Location": url, "Retry-After": "1"})


@router.get(
    "/submissions/{submission_id}/outcome",
    summary="The outcome of a submission (the URL a 202 points to)",
    response_model=FeeOutcome,
    responses={202: {"model": Pending, "description": "Not assessed yet"}},
)
async def submission_outcome(
    submission_id: str,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> Response:
    """The outcome of the caller's own submission: a caller is answered under its own sender (its system,
    or itself when through none) only, so another sender's submission of the same id is unknown to it."""
    if readable_submission_id(submission_id) is None:
        # No submission can have such an id (too long, a control character): nothing to look for.
        raise Problem(404, "unknown_submission", "Not found", "no outcome for this submission")
    key = (sender_of(caller.system_id, caller.hsa_id), submission_id)
    async with work.begin() as tx:
        found = (await store.outcomes(tx.conn, [key])).get(key)
        fee_id = await store.fee_of_submission(tx.conn, key)
        fee = await store.latest_version(tx.conn, fee_id) if fee_id is not None else None
        if fee is None:
            if found is None:
                raise Problem(404, "unknown_submission", "Not found", "no outcome for this submission")
            # A rejection: it names nobody's data.
            return Response(found.outcome, media_type="application/json")
        # Having registered the fee is no right to read it: its registrant too reads only while their
        # commission and role allow it.
        unit = await _authorized_on_fee(tx.conn, caller, Action.READ_PROTECTION, fee, acting_unit, settings.region)
        await audit_caller(
            tx,
            caller,
            patient_key=fee.patient_key,
            care_unit=unit,
            action="fee.outcome.read",
            subject=str(fee.fee_id),
        )
    if found is None or found.status != OutcomeStatus.ACCEPTED.value:
        return _pending(submission_id, str(fee.fee_id))
    return Response(found.outcome, media_type="application/json")


@router.post("/patients/fees", summary="A patient's fees, newest visit first", response_model=list[PatientFeeView])
async def patient_fees(
    patient: PatientRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> list[PatientFeeView]:
    """Every fee registered for the patient as it now stands, deleted ones marked, newest visit first.
    Any e-frikort role may read them (`protection.read`); the read is audited. A POST, so that the
    identity number stays out of the URL."""
    key = patient.patient_key(settings)
    async with work.begin() as tx:
        unit = await require(tx.conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
        fees = await store.patients_fees(tx.conn, key)
        await audit_caller(tx, caller, patient_key=key, care_unit=unit, action="fees.read")
    return [
        PatientFeeView(
            fee_id=fee.fee_id,
            visit_date=fee.visit_date,
            care_unit=fee.care_unit,
            fee_type=fee.fee_type,
            fee_amount=fee.fee_amount,
            paid_amount=fee.paid_amount,
            source=fee.source,
            receipt_issuer=fee.receipt_issuer,
            version=fee.version,
            deleted=fee.deleted,
            registered_at=fee.registered_at,
        )
        for fee in fees
    ]


@router.get("/fees/{fee_id}", summary="A fee and every version of it", response_model=FeeView)
async def read_fee(
    fee_id: uuid.UUID, caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep, acting_unit: ActingUnit = None
) -> Response:
    async with work.begin() as tx:
        versions = await store.versions(tx.conn, fee_id)
        if not versions:
            raise Problem(404, "unknown_fee", "Not found", "no such fee")
        current = versions[-1]
        unit = await _authorized_on_fee(tx.conn, caller, Action.READ_PROTECTION, current, acting_unit, settings.region)
        await audit_caller(
            tx,
            caller,
            patient_key=current.patient_key,
            care_unit=unit,
            action="fee.read",
            subject=str(fee_id),
        )
    return _fee_response(versions)


_CORRECTION_NOT_VALID = "The correction is not valid"


async def _correction_in(request: Request) -> CorrectionRequest:
    """The correction the body holds, read as a submission is: no more than its bytes, nested no deeper,
    checked before it is parsed; each refusal a problem naming its field."""
    body = await _bounded_body(request, _CORRECTION_NOT_VALID)
    if len(body) > MAX_SUBMISSION_BYTES:
        raise not_done(413, _CORRECTION_NOT_VALID, [_TOO_LARGE])
    if nested_deeper_than(body, MAX_NESTING_DEPTH):
        raise not_done(400, _CORRECTION_NOT_VALID, [_TOO_DEEP])
    try:
        return CorrectionRequest.model_validate_json(body)
    except ValidationError as error:
        raise _refused(_CORRECTION_NOT_VALID, shape_reasons(error)) from None


@router.patch(
    "/fees/{fee_id}",
    summary="Correct a fee (rättelse): a new version",
    response_model=FeeView,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CorrectionRequest.model_json_schema()}},
        }
    },
)
async def correct_fee(
    fee_id: uuid.UUID,
    correction: Annotated[CorrectionRequest, Depends(_correction_in)],
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    coverage: Coverage,
    acting_unit: ActingUnit = None,
    if_match: Annotated[str | None, Header(description="The version corrected, as its ETag says.")] = None,
) -> Response:
    async with work.begin() as tx:
        current, unit = await _changeable(
            tx.conn, caller, Action.CORRECT_FEE, fee_id, acting_unit, if_match, settings.region
        )
        corrected = _corrected(current, correction, coverage.visit_dates(today_in_sweden()), by=caller.hsa_id)
        await _record_change(tx, corrected, caller, unit, "fee.corrected")
        versions = await store.versions(tx.conn, fee_id)
    return _fee_response(versions)


@router.delete(
    "/fees/{fee_id}",
    summary="Delete a fee (makulering): a last version, the earlier ones kept",
    response_model=FeeView,
)
async def delete_fee(
    fee_id: uuid.UUID,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
    if_match: Annotated[str | None, Header(description="The version deleted, as its ETag says.")] = None,
    why: Annotated[FreeText | None, Query(alias="reason", max_length=500)] = None,
) -> Response:
    async with work.begin() as tx:
        current, unit = await _changeable(
            tx.conn, caller, Action.DELETE_FEE, fee_id, acting_unit, if_match, settings.region
        )
        deletion = current.deletion(by=caller.hsa_id, at=now(), reason=why)
        await _record_change(tx, deletion, caller, unit, "fee.deleted")
        versions = await store.versions(tx.conn, fee_id)
    return _fee_response(versions)


async def _changeable(
    conn: AsyncConnection,
    caller: Caller,
    action: Action,
    fee_id: uuid.UUID,
    acting_unit: str | None,
    if_match: str | None,
    region: str,
) -> tuple[FeeVersion, str]:
    """The fee's current version, locked for the change: known, the caller's to change, not deleted,
    and the version the caller changes (`If-Match`) when they name one; and the unit the caller acts for."""
    current = await store.latest_version_for_change(conn, fee_id)
    if current is None:
        raise Problem(404, "unknown_fee", "Not found", "no such fee")
    unit = await _authorized_on_fee(conn, caller, action, current, acting_unit, region)
    if current.deleted:
        raise not_done(409, "The fee is deleted", [reason(RejectionCode.FEE_DELETED, None, "the fee is deleted")])
    expected = _expected_version(if_match)
    if expected is not None and expected != current.version:
        raise not_done(
            412,
            "The fee has changed",
            [
                reason(
                    RejectionCode.VERSION_MISMATCH,
                    None,
                    f"the fee is at version {current.version}, not as If-Match says",
                )
            ],
        )
    return current, unit


def _corrected(current: FeeVersion, correction: CorrectionRequest, visits: VisitDates, by: str) -> FeeVersion:
    """The fee's next version with the correction's values, or 422 when it changes nothing or breaks a rule."""
    change = Correction(
        fee_amount=correction.fee_amount,
        paid_amount=correction.paid_amount,
        visit_date=correction.visit_date,
        fee_type=correction.fee_type,
        reason=correction.reason,
    )
    if not change.changes_anything(current):
        raise not_done(
            422,
            "Nothing to correct",
            [reason(RejectionCode.NOTHING_TO_CHANGE, None, "the correction changes none of the fee's values")],
        )
    corrected = current.corrected(change, by=by, at=now())
    reasons = check_fee_values(
        visit_date=corrected.visit_date,
        fee_type=corrected.fee_type,
        fee_amount=corrected.fee_amount,
        paid_amount=corrected.paid_amount,
        visits=visits,
    )
    if reasons:
        raise not_done(422, "The correction is not valid", reasons)
    return corrected


async def _record_change(tx: Transaction, version: FeeVersion, caller: Caller, acting_unit: str, action: str) -> None:
    await store.add_versions(tx.conn, [version])
    await tx.emit(FEES, version.patient_key, version.event())
    await audit_caller(
        tx,
        caller,
        patient_key=version.patient_key,
        care_unit=acting_unit,
        action=action,
        subject=str(version.fee_id),
    )
