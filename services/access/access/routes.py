"""Access over HTTP: decisions, the caller's own units, the audit trail, patient exit and re-entry,
agreements, systems, imports.

Thin: each route checks who asks (the one decision function, on access's own mirror), then calls
the mirror or the store. The caller acts for the unit in `X-Care-Unit`, as in every service.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from access import mirror, store
from access.directory import DirectoryFileError, parse_export
from access.granting import Agreement, IntegratedSystem
from contracts.access_events import (
    AccessRole,
    AgreementSigned,
    AgreementTerminated,
    AuditEntry,
    IntegratedSystemChanged,
    PatientExited,
    PatientReentered,
)
from contracts.authorization import Action
from contracts.clock import now, today_in_sweden
from contracts.topics import PATIENT_MEMBERSHIP
from runtime.access_grants import refused
from runtime.audit import audit_caller
from runtime.http import ActingUnit, Caller, CurrentCaller, PatientRequest, SettingsDep, UnitOfWorkDep
from runtime.problems import Problem

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["access"])


class UnitGrantOut(BaseModel):
    """A unit the caller may act for now (send it as `X-Care-Unit`), and what they may do there."""

    care_unit: str
    unit_name: str
    care_provider: str
    region: str
    role: AccessRole | None
    actions: list[Action] = Field(description="Every action the caller may take acting for this unit.")


class SystemOut(BaseModel):
    """An integrated system as judged, and what that means in the region this deployment serves."""

    system_id: str
    name: str
    certified: bool
    suspended: bool
    approved_regions: list[str]
    state: str = Field(
        description="`approved` (may send for this region), `suspended`, `not_certified`, or `not_approved` "
        "(certified, but not for this region)"
    )


class AgreementOut(BaseModel):
    """A care provider and its e-frikort agreement with the region."""

    care_provider: str
    name: str
    in_directory: bool
    region: str | None
    signed_on: date | None
    terminated_on: date | None
    state: str = Field(
        description="`signed` (in force today), `terminated` (ended), `pending` (signed from a later day), "
        "`other_region` (an agreement with another region than this deployment serves), `none`"
    )


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


class TrailRequest(PatientRequest):
    limit: int = Field(default=500, ge=1, le=10_000)


class TrailEntry(BaseModel):
    occurred_at: datetime
    actor: str
    system_id: str | None
    care_unit: str | None
    action: str
    service: str
    subject: str | None


class Signing(_Body):
    region: str
    signed_on: date


class Termination(_Body):
    terminated_on: date


class SystemJudgement(_Body):
    name: str = ""
    certified: bool
    suspended: bool = False
    approved_regions: list[str] = Field(default_factory=list)


async def _require(conn: AsyncConnection, caller: Caller, action: Action, acting_unit: str | None, region: str) -> str:
    """The unit the caller acts for in doing `action` in the region this deployment serves, by access's own
    mirror, or the 403 every service answers."""
    decision = await mirror.decide_for_caller(conn, caller, action, region=region, acting_unit=acting_unit)
    if not decision.allowed:
        raise refused(decision)
    assert decision.acting_unit is not None, "a caller is allowed acting for a unit"
    return decision.acting_unit


@router.post("/decisions", response_model=DecisionAnswer)
async def decision(
    request: DecisionRequest, caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep
) -> DecisionAnswer:
    """May `hsa_id`, acting for `care_unit` (through `system_id`), do `action` on what belongs to
    `target_unit`? The answer names the reason when it is no. Any authenticated service or person may ask."""
    async with work.begin() as tx:
        answer = await mirror.decide_for_employee(
            tx.conn,
            request.action,
            region=settings.region,
            employee=request.hsa_id,
            acting_unit=request.care_unit,
            target_unit=request.target_unit,
            system_id=request.system_id,
        )
    return DecisionAnswer(
        allowed=answer.allowed,
        denial=answer.denial.value if answer.denial else None,
        message=answer.message,
        field=answer.field,
    )


@router.get("/me/units", response_model=list[UnitGrantOut])
async def my_units(caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep) -> list[UnitGrantOut]:
    """The units of this deployment's region the caller may act for now (an active commission with an
    e-frikort role, at a provider with an agreement in force), each with the actions allowed there.
    Empty for a caller with none: that is an answer, not a refusal."""
    async with work.engine.connect() as conn:
        units = await mirror.units_of_caller(conn, caller, region=settings.region)
    return [UnitGrantOut(**asdict(unit)) for unit in units]


@router.get("/systems", response_model=list[SystemOut])
async def list_systems(
    caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep, acting_unit: ActingUnit = None
) -> list[SystemOut]:
    """Every integrated system judged, with its standing in this region (central support)."""
    async with work.engine.connect() as conn:
        await _require(conn, caller, Action.MANAGE_ACCESS, acting_unit, settings.region)
        systems = await store.every_system(conn)
    return [
        SystemOut(
            system_id=s.system_id,
            name=s.name,
            certified=s.certified,
            suspended=s.suspended,
            approved_regions=sorted(s.approved_regions),
            state=system_state(s, settings.region),
        )
        for s in systems
    ]


def system_state(system: IntegratedSystem, region: str) -> str:
    if system.suspended:
        return "suspended"
    if not system.certified:
        return "not_certified"
    return "approved" if region in system.approved_regions else "not_approved"


@router.get("/agreements", response_model=list[AgreementOut])
async def list_agreements(
    caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep, acting_unit: ActingUnit = None
) -> list[AgreementOut]:
    """Every care provider known, with its agreement's state today (central support)."""
    async with work.engine.connect() as conn:
        await _require(conn, caller, Action.MANAGE_ACCESS, acting_unit, settings.region)
        providers = await store.provider_agreements(conn)
    today = today_in_sweden()
    return [
        AgreementOut(
            care_provider=p.care_provider,
            name=p.name,
            in_directory=p.in_directory,
            region=p.agreement.region if p.agreement else None,
            signed_on=p.agreement.signed_on if p.agreement else None,
            terminated_on=p.agreement.terminated_on if p.agreement else None,
            state=agreement_state(p.agreement, today, settings.region),
        )
        for p in providers
    ]


def agreement_state(agreement: Agreement | None, today: date, region: str) -> str:
    if agreement is None:
        return "none"
    if agreement.region != region:
        return "other_region"
    if agreement.in_force(today):
        return "signed"
    return "pending" if agreement.signed_on > today else "terminated"


@router.post("/audit/trail", response_model=list[TrailEntry])
async def audit_trail(
    request: TrailRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> list[TrailEntry]:
    """Who looked at or changed this patient's data (central support, on the patient's request).
    The identity number travels in the body, so that it stays out of URLs and access logs."""
    key = request.patient_key(settings)
    async with work.begin() as tx:
        unit = await _require(tx.conn, caller, Action.READ_AUDIT_TRAIL, acting_unit, settings.region)
        entries: list[AuditEntry] = await store.audit_trail(tx.conn, key, request.limit)
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action=Action.READ_AUDIT_TRAIL.value,
        )
    return [TrailEntry(**e.model_dump(include=set(TrailEntry.model_fields))) for e in entries]


@router.post("/patients/exit", status_code=202)
async def patient_exit(
    patient: PatientRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> dict[str, Any]:
    """Utträde: every service removes the patient's data when it reads the event; the audit log keeps
    the record of who read or changed it, and of this exit."""
    key = patient.patient_key(settings)
    async with work.begin() as tx:
        unit = await _require(tx.conn, caller, Action.PATIENT_EXIT, acting_unit, settings.region)
        exited_at = now()
        await tx.emit(
            PATIENT_MEMBERSHIP, key, PatientExited(patient_key=key, requested_by=caller.hsa_id, exited_at=exited_at)
        )
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action="patient.exit",
        )
    log.info("patient exit requested by %s", caller.hsa_id)
    return {"status": "exit published", "exited_at": exited_at.isoformat()}


@router.post("/patients/reentry", status_code=202)
async def patient_reentry(
    patient: PatientRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> dict[str, Any]:
    """Återinträde: the patient is back, starting from nothing."""
    key = patient.patient_key(settings)
    async with work.begin() as tx:
        unit = await _require(tx.conn, caller, Action.PATIENT_EXIT, acting_unit, settings.region)
        reentered_at = now()
        reentered = PatientReentered(patient_key=key, requested_by=caller.hsa_id, reentered_at=reentered_at)
        await tx.emit(PATIENT_MEMBERSHIP, key, reentered)
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action="patient.reentry",
        )
    log.info("patient re-entry requested by %s", caller.hsa_id)
    return {"status": "re-entry published", "reentered_at": reentered_at.isoformat()}


@router.post("/agreements/{care_provider}/signing")
async def sign_agreement(
    care_provider: str,
    request: Signing,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> dict[str, int]:
    """The provider has signed the region's e-frikort agreement."""
    signed = AgreementSigned(care_provider=care_provider, region=request.region, signed_on=request.signed_on)
    async with work.begin() as tx:
        await _require(tx.conn, caller, Action.MANAGE_ACCESS, acting_unit, settings.region)
        published = await mirror.apply_agreement_change(tx, signed)
    return {"grants_published": published}


@router.post("/agreements/{care_provider}/termination")
async def terminate_agreement(
    care_provider: str,
    request: Termination,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> dict[str, int]:
    """The agreement ends on `terminated_on`: from then on the provider's units may not register."""
    async with work.begin() as tx:
        await _require(tx.conn, caller, Action.MANAGE_ACCESS, acting_unit, settings.region)
        if not await store.terminate_agreement(tx.conn, care_provider, request.terminated_on):
            raise Problem(404, "no_agreement", "no agreement", f"{care_provider} has not signed", "care_provider")
        published = await mirror.apply_agreement_change(
            tx, AgreementTerminated(care_provider=care_provider, terminated_on=request.terminated_on)
        )
    return {"grants_published": published}


@router.put("/systems/{system_id}")
async def judge_system(
    system_id: str,
    request: SystemJudgement,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> dict[str, int]:
    """An integrated system: certified or not, suspended or not, the regions that approved it."""
    judged = IntegratedSystemChanged(
        system_id=system_id,
        name=request.name,
        certified=request.certified,
        suspended=request.suspended,
        approved_regions=request.approved_regions,
    )
    async with work.begin() as tx:
        await _require(tx.conn, caller, Action.MANAGE_ACCESS, acting_unit, settings.region)
        published = await mirror.apply_agreement_change(tx, judged)
    return {"grants_published": published}


@router.post(
    "/directory/imports",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A directory export file.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def import_directory(
    http: Request,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> dict[str, Any]:
    """Load a directory export (format in `access/directory.py`). A full one ends what it lacks, at once.
    Who asks is decided before the file is read: a caller without the right learns nothing of it."""
    async with work.begin() as tx:
        await _require(tx.conn, caller, Action.MANAGE_ACCESS, acting_unit, settings.region)
        try:
            export = parse_export(await http.body())
        except DirectoryFileError as error:
            raise Problem(422, "invalid_directory_file", "invalid directory file", str(error), error.field) from None
        summary = await mirror.import_export(tx, export)
    return asdict(summary)
