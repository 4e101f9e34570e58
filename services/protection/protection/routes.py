"""Protection's HTTP API: a patient's status and extract, and the overcharges a unit owes.

Each route asks the shared decision, on protection's own read model of the access grants, whether
the caller's role allows what they ask (a 403 naming the reason when it does not), and audits every
read and change of a patient's data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, Field

from contracts import clock
from contracts.authorization import Action
from contracts.events import OverchargeRefunded
from contracts.integration import FreeCardStatus, FreeCardSummary
from contracts.topics import OVERCHARGES
from protection import store
from protection.extract import Extract, extract
from protection.ledger_changes import status_on_day
from protection.pdf import extract_pdf
from protection.recompute import Recomputation, Status, recompute, status_on
from protection.regions import RegionSettings
from protection.store import OverchargeRow
from runtime.access_grants import require
from runtime.audit import audit_caller
from runtime.http import ActingUnit, Caller, CurrentCaller, PatientRequest, SettingsDep, UnitOfWorkDep, provided
from runtime.problems import Problem, problem_responses
from runtime.transaction import Transaction

PROBLEMS = problem_responses(
    {
        401: "No trusted identity",
        403: "Not allowed: the code says what is missing (`role_not_permitted`, ...)",
        404: "No such overcharge",
        409: "The overcharge is not open",
        422: "Not valid: the field is named",
    }
)


class ProtectionStatus(BaseModel):
    """Where the patient stands on a day in the high-cost protection."""

    as_of: date
    status: FreeCardStatus
    period_start: date | None
    ceiling: int
    sum: int
    remaining: int
    free_card: FreeCardSummary | None


class ExtractLineOut(BaseModel):
    visit_date: date
    care_unit: str
    fee_type: str
    fee_type_name: str
    fee_amount: int
    amount_due: int
    counted: int
    basis: str


class ExtractOut(BaseModel):
    """Sammanställning: the fees of the current period."""

    protection: ProtectionStatus
    fees: list[ExtractLineOut]


class OverchargeOut(BaseModel):
    overcharge_id: UUID
    fee_id: UUID
    care_unit: str
    visit_date: date
    fee_type: str
    paid_amount: int
    amount_due: int
    amount: int
    found_at: datetime


router = APIRouter(prefix="/v1", tags=["protection"], responses=PROBLEMS)

Region = Annotated[RegionSettings, Depends(provided(RegionSettings))]
"""The region's settings the service was built with."""


async def recomputed_status(
    tx: Transaction, patient_key: str, day: date, region: RegionSettings
) -> tuple[Status, Recomputation]:
    """The patient's ledger recomputed from what is recorded, and where they stand on `day`."""
    history = (await store.histories(tx.conn, [patient_key]))[patient_key]
    now = clock.now()
    result = recompute(history, region, now)
    return status_on(day, result.ledger, result.cards, region, now), result


Day = date
"""`date` by another name: the lookup's field is called `date`, which would hide the type in its class."""


class ProtectionLookup(PatientRequest):
    """Whose status, and on which day."""

    date: Day | None = Field(default=None, description="The day asked about; today when left out.")


@router.post("/patients/protection", response_model=ProtectionStatus)
async def protection_status(
    lookup: ProtectionLookup,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    region: Region,
    acting_unit: ActingUnit = None,
) -> ProtectionStatus:
    """Does the patient have a free card, how much is left to the ceiling (on a date, default today).
    Any e-frikort role may ask. A lookup is a POST so that the identity number stays out of the URL."""
    key = lookup.patient_key(settings)
    async with work.begin() as tx:
        unit = await require(tx.conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
        day = lookup.date or clock.today_in_sweden()
        status, _ = await recomputed_status(tx, key, day, region)
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action="protection.read",
        )
    return protection_status_out(status, day)


@router.post(
    "/patients/extract",
    response_model=ExtractOut,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def patient_extract(
    patient: PatientRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    region: Region,
    accept: Annotated[str | None, Header()] = None,
    acting_unit: ActingUnit = None,
) -> Any:
    """The fees of the current period, as JSON or (with `Accept: application/pdf`) as a PDF.
    Any e-frikort role may ask."""
    key = patient.patient_key(settings)
    today = clock.today_in_sweden()
    async with work.begin() as tx:
        unit = await require(tx.conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
        status, result = await recomputed_status(tx, key, today, region)
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action="extract.read",
        )
    document = extract(result.fees, result.ledger, status, today)
    if accept and "application/pdf" in accept:
        return Response(
            extract_pdf(document, region.region),
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="sammanstallning.pdf"'},
        )
    return extract_out(document, status)


@router.get("/care-units/{care_unit}/overcharges", response_model=list[OverchargeOut])
async def open_overcharges(
    care_unit: str, caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep, acting_unit: ActingUnit = None
) -> list[OverchargeOut]:
    """Overcharges this unit owes patients and has not yet marked refunded: the work list of those who
    may mark them refunded (a user of the unit's provider, the region's administrators, central support)."""
    async with work.engine.connect() as conn:
        await require(
            conn,
            caller,
            Action.MARK_OVERCHARGE_REFUNDED,
            region=settings.region,
            acting_unit=acting_unit,
            target_unit=care_unit,
        )
        rows = await store.open_overcharges(conn, care_unit)
    return [overcharge_out(row) for row in rows]


@router.post("/overcharges/{overcharge_id}/refunded", response_model=OverchargeOut)
async def mark_refunded(
    overcharge_id: UUID,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> OverchargeOut:
    """The unit has paid the patient back (återbetalt): the overcharge is closed. A user of the unit's
    provider, the region's administrators or central support may say so."""
    async with work.begin() as tx:
        row, unit = await open_overcharge_for_update(tx, overcharge_id, caller, acting_unit, settings.region)
        now = clock.now()
        await store.mark_refunded(tx.conn, overcharge_id, caller.hsa_id, now)
        await tx.emit(
            OVERCHARGES,
            row.patient_key,
            OverchargeRefunded(
                overcharge_id=overcharge_id,
                patient_key=row.patient_key,
                fee_id=row.fee_id,
                care_unit=row.care_unit,
                amount=row.amount,
                refunded_by=caller.hsa_id,
                refunded_at=now,
            ),
        )
        await audit_caller(
            tx,
            caller,
            patient_key=row.patient_key,
            care_unit=unit,
            action="overcharge.refunded",
            subject=str(overcharge_id),
        )
    return overcharge_out(row)


async def open_overcharge_for_update(
    tx: Transaction, overcharge_id: UUID, caller: Caller, acting_unit: str | None, region: str
) -> tuple[OverchargeRow, str]:
    """The overcharge, locked, once it is known, the caller may mark it refunded, and it is still open; and
    the unit the caller acts for."""
    row = await store.overcharge_for_update(tx.conn, overcharge_id)
    if row is None:
        raise Problem(
            404,
            "unknown_overcharge",
            "No such overcharge",
            f"overcharge_id: {overcharge_id} is not known",
            field="overcharge_id",
        )
    unit = await require(
        tx.conn,
        caller,
        Action.MARK_OVERCHARGE_REFUNDED,
        region=region,
        acting_unit=acting_unit,
        target_unit=row.care_unit,
    )
    if row.state != "open":
        raise Problem(
            409,
            "overcharge_not_open",
            "Overcharge not open",
            f"overcharge_id: the overcharge is {row.state}",
            field="overcharge_id",
        )
    return row, unit


def overcharge_out(row: OverchargeRow) -> OverchargeOut:
    return OverchargeOut(**{k: v for k, v in vars(row).items() if k in OverchargeOut.model_fields})


def extract_out(document: Extract, status: Status) -> ExtractOut:
    return ExtractOut(
        protection=protection_status_out(status, document.as_of),
        fees=[
            ExtractLineOut(
                visit_date=line.visit_date,
                care_unit=line.care_unit,
                fee_type=line.fee_type,
                fee_type_name=line.fee_type_name,
                fee_amount=line.fee_amount,
                amount_due=line.amount_due,
                counted=line.counted,
                basis=line.basis.value,
            )
            for line in document.lines
        ],
    )


def protection_status_out(status: Status, day: date) -> ProtectionStatus:
    return ProtectionStatus(**status_on_day(status, day))
