"""Notifications' HTTP API: patients' contact details, and the operators' view of failed notices.

The operator endpoints ask the shared decision, on notifications' own read model of the access
grants, whether the caller may (central support only), and answer 403 naming the reason when not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AnyHttpUrl, BaseModel, BeforeValidator, Field

from contracts import clock
from contracts.authorization import Action
from contracts.notice_events import NoticeChannel, NoticeLanguage, PatientContactDetails
from contracts.topics import PATIENT_CONTACTS
from notifications import store
from notifications.delivery_rules import Mailboxes, NoticeState, missing_for_channel
from runtime.access_grants import require
from runtime.audit import audit_caller
from runtime.free_text import FreeText, no_control_characters
from runtime.http import ActingUnit, CurrentCaller, PatientRequest, SettingsDep, UnitOfWorkDep, provided
from runtime.problems import Problem

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
RegionMailboxes = Annotated[Mailboxes, Depends(provided(Mailboxes))]


class ContactDetailsIn(PatientRequest):
    """How the patient wants to be told. A letter is the fallback when the preferred channel cannot be used."""

    channel: NoticeChannel
    language: NoticeLanguage = NoticeLanguage.SWEDISH
    name: FreeText | None = Field(default=None, max_length=200)
    email: FreeText | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    webhook_url: Annotated[AnyHttpUrl, BeforeValidator(no_control_characters)] | None = None
    postal_address: list[Annotated[FreeText, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=6
    )


class ContactDetailsOut(BaseModel):
    channel: NoticeChannel
    language: NoticeLanguage
    name: str | None
    email: str | None
    webhook_url: str | None
    postal_address: list[str]
    changed_at: datetime
    changed_by: str


def _out(details: PatientContactDetails) -> ContactDetailsOut:
    return ContactDetailsOut.model_validate(details.model_dump(exclude={"patient_key"}))


router = APIRouter()


@router.put("/v1/patients/contact", tags=["contact details"], response_model=ContactDetailsOut)
async def put_contact(
    details: ContactDetailsIn,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    mailboxes: RegionMailboxes,
    acting_unit: ActingUnit = None,
) -> ContactDetailsOut:
    """Set how and where the patient is told (`contact.change`: `EFK;Användare` and up). Audited. Who
    asks is decided first: a caller without the right learns nothing of what would be wrong with the body."""
    key = details.patient_key(settings)
    async with work.begin() as tx:
        unit = await require(
            tx.conn, caller, Action.CHANGE_CONTACT_DETAILS, region=settings.region, acting_unit=acting_unit
        )
        event = _contact_details(details, key, caller.hsa_id, mailboxes)
        await store.save_contact(tx.conn, event)
        await tx.emit(PATIENT_CONTACTS, key, event)
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action="contact_details.changed",
            subject="notifications/contact",
        )
    return _out(event)


def _contact_details(
    details: ContactDetailsIn, key: str, changed_by: str, mailboxes: Mailboxes
) -> PatientContactDetails:
    """The details as they will be kept, or the 422 naming what is wrong with them."""
    webhook_url = str(details.webhook_url) if details.webhook_url else None
    if webhook_url and (why := mailboxes.refusal(webhook_url)):
        raise Problem(422, "invalid_value", "A field is not valid", f"webhook_url: {why}", field="webhook_url")
    if missing := missing_for_channel(details.channel, details.email, webhook_url, details.postal_address):
        raise Problem(
            422,
            "missing_field",
            "A field is missing",
            f"{missing}: required when the channel is {details.channel.value}",
            field=missing,
        )
    return PatientContactDetails(
        patient_key=key,
        channel=details.channel,
        language=details.language,
        name=details.name,
        email=details.email,
        webhook_url=webhook_url,
        postal_address=details.postal_address,
        changed_at=clock.now(),
        changed_by=changed_by,
    )


@router.post("/v1/patients/contact/lookup", tags=["contact details"], response_model=ContactDetailsOut)
async def get_contact(
    patient: PatientRequest,
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    acting_unit: ActingUnit = None,
) -> ContactDetailsOut:
    """How and where the patient is told (`protection.read`: any e-frikort role). Audited. A lookup is a
    POST so that the identity number stays out of the URL."""
    key = patient.patient_key(settings)
    async with work.begin() as tx:
        unit = await require(tx.conn, caller, Action.READ_PROTECTION, region=settings.region, acting_unit=acting_unit)
        details = await store.contact_details(tx.conn, key)
        await audit_caller(
            tx,
            caller,
            patient_key=key,
            care_unit=unit,
            action="contact_details.read",
            subject="notifications/contact",
        )
    if details is None:
        raise Problem(
            404,
            "no_contact_details",
            "No contact details",
            "the patient has no contact details: notices go by letter",
        )
    return _out(details)


@router.get("/v1/notices", tags=["operations"])
async def list_notices(
    caller: CurrentCaller,
    work: UnitOfWorkDep,
    settings: SettingsDep,
    state: NoticeState = NoticeState.FAILED,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    acting_unit: ActingUnit = None,
) -> list[dict[str, Any]]:
    """Notices in a state, the most recently changed first: `failed` ones are an operator's to act on.
    Central support (`EFK;Superanvändare`) only."""
    async with work.engine.connect() as conn:
        await require(conn, caller, Action.MANAGE_NOTICES, region=settings.region, acting_unit=acting_unit)
        return await store.notices_in_state(conn, state, limit)


@router.post("/v1/notices/{notice_id}/resend", tags=["operations"], status_code=202)
async def resend(
    notice_id: int, caller: CurrentCaller, work: UnitOfWorkDep, settings: SettingsDep, acting_unit: ActingUnit = None
) -> dict[str, Any]:
    """Send a failed notice again, with a fresh set of attempts (to the patient's details as they are now).
    Central support (`EFK;Superanvändare`) only."""
    async with work.begin() as tx:
        await require(tx.conn, caller, Action.MANAGE_NOTICES, region=settings.region, acting_unit=acting_unit)
        again = await store.send_again(tx.conn, notice_id)
        if again is None:
            existing = await store.notice(tx.conn, notice_id)
    if again is not None:
        return again
    if existing is None:
        raise Problem(404, "unknown_notice", "No such notice", f"no notice {notice_id}", field="notice_id")
    raise Problem(
        409,
        "notice_not_failed",
        "Notice not failed",
        f"notice {notice_id} is {existing['state']}: only a failed notice is sent again",
        field="notice_id",
    )
