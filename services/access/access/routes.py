"""Access over HTTP: decisions, the audit trail, patient exit and re-entry, agreements, systems, imports.

Thin: each route checks who asks (the one decision function, on access's own mirror), then calls
the mirror or the store.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from access import mirror, store
from access.directory import DirectoryFileError, parse_export
from access.patients import InvalidIdentityNumber, key_of
from contracts.access_events import (
    AgreementSigned,
    AgreementTerminated,
    AuditEntry,
    IntegratedSystemChanged,
    PatientExited,
    PatientReentered,
)
from contracts.authorization import Action, Decision, decide
from contracts.clock import today_in_sweden
from contracts.topics import PATIENT_MEMBERSHIP
from runtime.audit import record_access
from runtime.identity import Caller, CurrentCaller
from runtime.problems import Problem
from runtime.transaction import UnitOfWork

log = logging.getLogger(__name__)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionRequest(_Body):
    hsa_id: str = Field(description="The employee (or system) who wants to act.")
    action: Action
    care_unit: str = Field(description="The unit the employee acts for.")
    target_unit: str | None = Field(default=None, description="The unit the thing acted on belongs to.")
    system_id: str | None = Field(default=None, description="The integrated system it comes through, if any.")


class DecisionAnswer(BaseModel):
    allowed: bool
    denial: str | None = Field(description="Why not: a rejection code of the integration contract.")
    message: str
    field: str | None


class ActingFor(_Body):
    care_unit: str = Field(description="The unit the caller acts for (central support's own).")


class TrailRequest(ActingFor):
    patient_id: str = Field(description="The patient's identity number; turned into the patient key, never stored.")
    limit: int = Field(default=500, ge=1, le=10_000)


class TrailEntry(BaseModel):
    occurred_at: datetime
    actor: str
    system_id: str | None
    care_unit: str | None
    action: str
    service: str
    subject: str | None


class Signing(ActingFor):
    region: str
    signed_on: date


class Termination(ActingFor):
    terminated_on: date


class SystemJudgement(ActingFor):
    name: str = ""
    certified: bool
    suspended: bool = False
    approved_regions: list[str] = Field(default_factory=list)


async def _decision(
    conn: AsyncConnection, hsa_id: str, action: Action, care_unit: str, target_unit: str | None, system_id: str | None
) -> Decision:
    today = today_in_sweden()
    grants = await mirror.current_grants(
        conn, employee=hsa_id, acting_unit=care_unit, target_unit=target_unit, system_id=system_id, today=today
    )
    return decide(
        action,
        acting_unit=grants.acting_unit,
        employee=grants.employee,
        target_unit=grants.target_unit,
        system=grants.system,
        through_system=system_id is not None,
        today=today,
    )


async def _authorize(conn: AsyncConnection, caller: Caller, action: Action, care_unit: str) -> None:
    decision = await _decision(conn, caller.hsa_id, action, care_unit, None, caller.system_id)
    if not decision.allowed:
        raise Problem(403, str(decision.denial), "not permitted", decision.message, decision.field)


def _patient_key(patient_id: str, secret: str) -> str:
    try:
        return key_of(patient_id, secret)
    except InvalidIdentityNumber as error:
        raise Problem(
            422, "invalid_patient_id", "invalid identity number", f"patient_id: {error}", "patient_id"
        ) from None


def build_router(uow: UnitOfWork, key_secret: str) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["access"])

    @router.post("/decisions", response_model=DecisionAnswer)
    async def decision(request: DecisionRequest, caller: CurrentCaller) -> DecisionAnswer:
        """May `hsa_id`, acting for `care_unit` (through `system_id`), do `action` on what belongs to
        `target_unit`? The answer names the reason when it is no. Any authenticated service or person may ask."""
        async with uow.begin(correlation_id="decision") as tx:
            answer = await _decision(
                tx.conn, request.hsa_id, request.action, request.care_unit, request.target_unit, request.system_id
            )
        return DecisionAnswer(
            allowed=answer.allowed,
            denial=answer.denial.value if answer.denial else None,
            message=answer.message,
            field=answer.field,
        )

    @router.post("/audit/trail", response_model=list[TrailEntry])
    async def audit_trail(request: TrailRequest, caller: CurrentCaller) -> list[TrailEntry]:
        """Who looked at or changed this patient's data (central support, on the patient's request).
        The identity number travels in the body, so that it stays out of URLs and access logs."""
        key = _patient_key(request.patient_id, key_secret)
        async with uow.begin(correlation_id="audit-trail") as tx:
            await _authorize(tx.conn, caller, Action.READ_AUDIT_TRAIL, request.care_unit)
            entries: list[AuditEntry] = await store.audit_trail(tx.conn, key, request.limit)
            await record_access(
                tx,
                patient_key=key,
                actor=caller.hsa_id,
                action=Action.READ_AUDIT_TRAIL.value,
                system_id=caller.system_id,
                care_unit=request.care_unit,
            )
        return [TrailEntry(**e.model_dump(include=set(TrailEntry.model_fields))) for e in entries]

    @router.post("/patients/{patient_id}/exit", status_code=202)
    async def patient_exit(patient_id: str, request: ActingFor, caller: CurrentCaller) -> dict[str, Any]:
        """Utträde: every service removes the patient's data when it reads the event."""
        key = _patient_key(patient_id, key_secret)
        async with uow.begin(correlation_id="patient-exit") as tx:
            await _authorize(tx.conn, caller, Action.PATIENT_EXIT, request.care_unit)
            now = datetime.now(UTC)
            await tx.emit(
                PATIENT_MEMBERSHIP, key, PatientExited(patient_key=key, requested_by=caller.hsa_id, exited_at=now)
            )
        log.info("patient exit requested by %s", caller.hsa_id)
        return {"status": "exit published", "exited_at": now.isoformat()}

    @router.post("/patients/{patient_id}/reentry", status_code=202)
    async def patient_reentry(patient_id: str, request: ActingFor, caller: CurrentCaller) -> dict[str, Any]:
        """Återinträde: the patient is back, starting from nothing."""
        key = _patient_key(patient_id, key_secret)
        async with uow.begin(correlation_id="patient-reentry") as tx:
            await _authorize(tx.conn, caller, Action.PATIENT_EXIT, request.care_unit)
            now = datetime.now(UTC)
            await tx.emit(
                PATIENT_MEMBERSHIP, key, PatientReentered(patient_key=key, requested_by=caller.hsa_id, reentered_at=now)
            )
        log.info("patient re-entry requested by %s", caller.hsa_id)
        return {"status": "re-entry published", "reentered_at": now.isoformat()}

    @router.post("/agreements/{care_provider}/signing")
    async def sign_agreement(care_provider: str, request: Signing, caller: CurrentCaller) -> dict[str, int]:
        """The provider has signed the region's e-frikort agreement."""
        async with uow.begin(correlation_id="agreement") as tx:
            await _authorize(tx.conn, caller, Action.MANAGE_ACCESS, request.care_unit)
            published = await mirror.apply_agreement_change(
                tx, AgreementSigned(care_provider=care_provider, region=request.region, signed_on=request.signed_on)
            )
        return {"grants_published": published}

    @router.post("/agreements/{care_provider}/termination")
    async def terminate_agreement(care_provider: str, request: Termination, caller: CurrentCaller) -> dict[str, int]:
        """The agreement ends on `terminated_on`: from then on the provider's units may not register."""
        async with uow.begin(correlation_id="agreement") as tx:
            await _authorize(tx.conn, caller, Action.MANAGE_ACCESS, request.care_unit)
            if not await store.terminate_agreement(tx.conn, care_provider, request.terminated_on):
                raise Problem(404, "no_agreement", "no agreement", f"{care_provider} has not signed", "care_provider")
            published = await mirror.apply_agreement_change(
                tx, AgreementTerminated(care_provider=care_provider, terminated_on=request.terminated_on)
            )
        return {"grants_published": published}

    @router.put("/systems/{system_id}")
    async def judge_system(system_id: str, request: SystemJudgement, caller: CurrentCaller) -> dict[str, int]:
        """An integrated system: certified or not, suspended or not, the regions that approved it."""
        async with uow.begin(correlation_id="system") as tx:
            await _authorize(tx.conn, caller, Action.MANAGE_ACCESS, request.care_unit)
            published = await mirror.apply_agreement_change(
                tx,
                IntegratedSystemChanged(
                    system_id=system_id,
                    name=request.name,
                    certified=request.certified,
                    suspended=request.suspended,
                    approved_regions=request.approved_regions,
                ),
            )
        return {"grants_published": published}

    @router.post("/directory/imports")
    async def import_directory(
        http: Request,
        caller: CurrentCaller,
        care_unit: Annotated[str, Query(description="The unit acted for.")],
        file: Annotated[bytes, Body(media_type="application/json", description="A directory export file.")] = b"",
    ) -> JSONResponse:
        """Load a directory export (format in `access/directory.py`). A full one ends what it lacks, at once."""
        raw = await http.body()
        try:
            export = parse_export(raw)
        except DirectoryFileError as error:
            raise Problem(422, "invalid_directory_file", "invalid directory file", str(error), error.field) from None
        async with uow.begin(correlation_id="directory-import") as tx:
            await _authorize(tx.conn, caller, Action.MANAGE_ACCESS, care_unit)
            summary = await mirror.import_export(tx, export)
        return JSONResponse(summary.__dict__)

    return router
