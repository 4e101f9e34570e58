"""Protection's HTTP API: a patient's status, extract and quotes, the fee types, and the overcharges a unit owes.

Each route asks the shared decision, on protection's own read model of the access grants, whether
the caller's role allows what they ask (a 403 naming the reason when it does not), and audits every
read and change of a patient's data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, Field, StrictInt, StrictStr

from contracts import clock
from contracts.authorization import Action
from contracts.events import OverchargeRefunded
from contracts.fee_checks import VisitDates, check_fee_values, check_patient_id
from contracts.fee_types import FEE_TYPES
from contracts.integration import FreeCardStatus, FreeCardSummary, IsoDate
from contracts.topics import OVERCHARGES
from protection import store
from protection.extract import Extract, extract
from protection.ledger_changes import status_on_day
from protection.pdf import extract_pdf
from protection.quote import Quote, Visit, quote
from protection.recompute import Recomputation, Status, recompute, status_on
from protection.regions import RegionSettings
from protection.store import OverchargeRow
from runtime.access_grants import require
from runtime.audit import audit_caller
from runtime.http import ActingUnit, Caller, CurrentCaller, PatientRequest, SettingsDep, UnitOfWorkDep, provided
from runtime.problems import Problem, problem_responses, refusal
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
    fee_id: UUID = Field(description="The fee, as registration's `/v1/fees/{fee_id}` routes name it.")
    version: int = Field(description="The fee's version protection assessed (registration's ETag).")
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


class QuoteRequest(PatientRequest):
    """A visit asked about: what it would cost on its date, computed without registering anything."""

    visit_date: IsoDate = Field(description="YYYY-MM-DD, in Swedish time; not after today.")
    care_unit: StrictStr = Field(min_length=1, max_length=64, description="HSA-ID of the unit of the visit.")
    fee_type: StrictStr = Field(min_length=1, max_length=64, description="A code of `GET /v1/fee-types`.")
    fee_amount: StrictInt = Field(description="Tariff fee in whole kronor.")


class QuoteFreeCard(BaseModel):
    """The free card that would apply on the visit's day; `number` only for a card already issued."""

    number: str | None
    valid_from: date
    valid_to: date
    status: FreeCardStatus


class QuoteProtection(BaseModel):
    """Where the patient would stand on the visit's day, the visit included."""

    period_start: date | None
    ceiling: int
    sum: int
    remaining: int
    free_card: QuoteFreeCard | None


class QuoteOut(BaseModel):
    """What the visit would cost: the same assessment a registered fee gets, nothing recorded."""

    visit_date: date
    fee_type: str
    fee_amount: int
    amount_due: int
    counted_amount: int
    reaches_ceiling: bool = Field(description="This visit would make the free card.")
    free_card_applies: bool = Field(description="A free card already covers the visit's day.")
    protection: QuoteProtection


class FeeTypeOut(BaseModel):
    """A fee type of the catalogue (avgiftstyp)."""

    code: str
    name_sv: str
    name_en: str
    counting: bool = Field(description="högkostnadsgrundande: counts towards the ceiling, covered by a free card.")


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
    day = lookup.date or clock.today_in_sweden()
    if day < region.first_day:
        raise Problem(
            422,
            "date_not_covered",
            "The day is not covered",
            f"the region's rules cover days from {region.first_day.isoformat()} on",
            "date",
        )
    async with work.begin() as tx:
        unit = await require(tx.conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
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


@router.post("/quotes", response_model=QuoteOut)
async def visit_quote(
    asked: QuoteRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    region: Region,
    acting_unit: ActingUnit = None,
) -> QuoteOut:
    """What a visit would cost on its date (and whether it makes or meets a free card), by the rules that
    assess a registered fee, storing nothing. Any e-frikort role may ask; the question is audited."""
    visit = checked_visit(asked, VisitDates(region.first_day, clock.today_in_sweden()))
    key = asked.patient_key(settings)
    async with work.begin() as tx:
        unit = await require(tx.conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
        history = (await store.histories(tx.conn, [key]))[key]
        await audit_caller(tx, caller, patient_key=key, care_unit=unit, action="protection.quote")
    return quote_out(asked, quote(history, visit, region, clock.now()))


def checked_visit(asked: QuoteRequest, visits: VisitDates) -> Visit:
    """The visit, or 422 naming every field at fault: the checks a submission's fields pass."""
    patient, reasons = check_patient_id(asked.patient_id, visits.last)
    reasons += check_fee_values(
        visit_date=asked.visit_date,
        fee_type=asked.fee_type,
        fee_amount=asked.fee_amount,
        paid_amount=None,
        visits=visits,
    )
    if reasons or patient is None:
        raise refusal(422, "The quote is not valid", reasons)
    return Visit(asked.visit_date, asked.care_unit, asked.fee_type, asked.fee_amount, patient.birth_date)


def quote_out(asked: QuoteRequest, answer: Quote) -> QuoteOut:
    standing = answer.status.standing
    card = standing.free_card
    return QuoteOut(
        visit_date=asked.visit_date,
        fee_type=asked.fee_type,
        fee_amount=asked.fee_amount,
        amount_due=answer.assessment.amount_due,
        counted_amount=answer.assessment.counted,
        reaches_ceiling=answer.reaches_ceiling,
        free_card_applies=answer.free_card_applies,
        protection=QuoteProtection(
            period_start=standing.period_start,
            ceiling=standing.ceiling,
            sum=standing.sum,
            remaining=standing.remaining,
            free_card=None
            if card is None or answer.status.card_status is None
            else QuoteFreeCard(
                number=answer.card_number,
                valid_from=card.valid_from,
                valid_to=card.valid_to,
                status=answer.status.card_status,
            ),
        ),
    )


@router.get("/fee-types", response_model=list[FeeTypeOut])
async def fee_types(
    caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep, acting_unit: ActingUnit = None
) -> list[FeeTypeOut]:
    """The fee-type catalogue, for a select: no patient data, so any e-frikort role may read it, unaudited."""
    async with work.engine.connect() as conn:
        await require(conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
    return [
        FeeTypeOut(code=t.code, name_sv=t.name_sv, name_en=t.name_en, counting=t.counting) for t in FEE_TYPES.values()
    ]


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
                fee_id=line.fee_id,
                version=line.version,
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
