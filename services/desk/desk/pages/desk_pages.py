"""The desk: look a patient up, quote and register a fee, correct or delete one, download the extract.

The identity number travels only in POST bodies (a hidden field once looked up), never in a URL or a
cookie; every page that shows a patient is answered `Cache-Control: no-store` (see `app.SecurityHeaders`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from contracts.authorization import Action
from contracts.clock import today_in_sweden
from desk import forms
from desk.pages.common import ActingFor, Services, render, text_fields
from desk.services_client import Extract, FeeType, Outcome, Quote, Refused, RegisteredFee, ServicesClient

router = APIRouter(tags=["desk"])


@dataclass(frozen=True)
class FeeRow:
    """A registered fee and, when it is in the current period, what it cost the patient."""

    fee: RegisteredFee
    amount_due: int | None
    counted: int | None


async def fee_types(services: ServicesClient, acting: ActingFor) -> list[FeeType]:
    """The fee-type catalogue, asked for once per process (it changes with a release, not by the day)."""
    cached: list[FeeType] | None = getattr(services, "fee_type_catalogue", None)
    if cached is None:
        cached = await services.fee_types(acting.as_)
        services.fee_type_catalogue = cached  # type: ignore[attr-defined]
    return cached


@router.get("/")
async def home(request: Request, acting: ActingFor) -> Response:
    return render(request, "home.html", acting=acting)


async def patient_view(services: Services, acting: ActingFor, patient: str) -> dict[str, Any]:
    """What the patient page shows: status, free card, the fees with what each cost, the fee types."""
    extract, registered, types = await asyncio.gather(
        services.extract(acting.as_, patient),
        services.patient_fees(acting.as_, patient),
        fee_types(services, acting),
    )
    return {
        "patient_id": patient,
        "protection": extract.protection,
        "fees": fee_rows(extract, registered),
        "fee_types": types,
        "today": today_in_sweden().isoformat(),
        "may_register": acting.may(Action.REGISTER_FEE.value),
        "may_correct": acting.may(Action.CORRECT_FEE.value),
    }


def fee_rows(extract: Extract, registered: list[RegisteredFee]) -> list[FeeRow]:
    """Newest visit first; a fee outside the current period (or deleted) has no cost shown."""
    lines = {line.fee_id: line for line in extract.fees if line.fee_id}
    rows = [
        FeeRow(fee, lines[fee.fee_id].amount_due, lines[fee.fee_id].counted)
        if fee.fee_id in lines
        else FeeRow(fee, None, None)
        for fee in registered
    ]
    return sorted(rows, key=lambda row: (row.fee.visit_date, row.fee.registered_at or 0), reverse=True)


async def show_patient(request: Request, services: Services, acting: ActingFor, patient: str, **extra: Any) -> Response:
    """The patient page (the part htmx swaps, or the whole page), or the service's refusal."""
    try:
        view = await patient_view(services, acting, patient)
    except Refused as refused:
        return render(request, "home.html", refused.status, acting=acting, refused=refused)
    template = "_patient.html" if request.headers.get("HX-Request") == "true" else "patient.html"
    return render(request, template, acting=acting, **view, **extra)


@router.post("/patient")
async def look_up(request: Request, services: Services, acting: ActingFor) -> Response:
    try:
        patient = forms.patient_id(text_fields(await request.form()))
    except forms.Invalid as invalid:
        return render(request, "home.html", 422, acting=acting, errors=invalid.errors)
    return await show_patient(request, services, acting, patient)


async def _patient_and_fee(request: Request, services: Services, acting: ActingFor) -> tuple[str, Any]:
    form = text_fields(await request.form())
    patient = forms.patient_id(form)
    types = {t.code for t in await fee_types(services, acting)}
    return patient, forms.fee(form, patient, types)


@router.post("/patient/quote")
async def quote(request: Request, services: Services, acting: ActingFor) -> Response:
    """What the visit would cost (Att betala), without registering it."""
    form = text_fields(await request.form())
    try:
        patient, fee = await _patient_and_fee(request, services, acting)
        answer: Quote | None = await services.quote(acting.as_, fee)
        refused = None
    except forms.Invalid as invalid:
        return await _invalid_fee(request, services, acting, form, invalid)
    except Refused as error:
        answer, refused = None, error
    if request.headers.get("HX-Request") == "true":
        return render(request, "_quote.html", 200 if refused is None else refused.status, quote=answer, refused=refused)
    return await show_patient(request, services, acting, patient, quote=answer, refused=refused, form=form)


async def _invalid_fee(
    request: Request, services: Services, acting: ActingFor, form: dict[str, str], invalid: forms.Invalid
) -> Response:
    if "patient_id" in invalid.errors:
        return render(request, "home.html", 422, acting=acting, errors=invalid.errors)
    patient = forms.patient_id(form)
    try:
        view = await patient_view(services, acting, patient)
    except Refused as refused:
        return render(request, "home.html", refused.status, acting=acting, refused=refused)
    template = "_patient.html" if request.headers.get("HX-Request") == "true" else "patient.html"
    return render(request, template, 422, acting=acting, **view, errors=invalid.errors, form=form)


@router.post("/patient/fees")
async def register(request: Request, services: Services, acting: ActingFor) -> Response:
    """Register the fee and show at once what the patient pays and where they now stand."""
    form = text_fields(await request.form())
    try:
        patient, fee = await _patient_and_fee(request, services, acting)
    except forms.Invalid as invalid:
        return await _invalid_fee(request, services, acting, form, invalid)
    try:
        outcome: Outcome | None = await services.register(acting.as_, fee)
    except Refused as refused:
        return await show_patient(request, services, acting, patient, refused=refused, form=form)
    return await show_patient(request, services, acting, patient, outcome=outcome)


@router.post("/patient/extract.pdf")
async def extract_pdf(request: Request, services: Services, acting: ActingFor) -> Response:
    """The extract (sammanställning) as a PDF download, streamed through from protection."""
    try:
        patient = forms.patient_id(text_fields(await request.form()))
    except forms.Invalid as invalid:
        return render(request, "home.html", 422, acting=acting, errors=invalid.errors)
    stack = AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(services.extract_pdf(acting.as_, patient))
    except Refused as refused:
        await stack.aclose()
        return await show_patient(request, services, acting, patient, refused=refused)

    async def body() -> AsyncIterator[bytes]:
        async with stack:
            async for chunk in upstream.aiter_bytes():
                yield chunk

    return StreamingResponse(
        body(),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="sammanstallning.pdf"'},
    )


@router.post("/fees/{fee_id}")
async def fee_page(fee_id: uuid.UUID, request: Request, services: Services, acting: ActingFor) -> Response:
    """A fee and its versions, with the forms to correct or delete it."""
    form = text_fields(await request.form())
    return await show_fee(request, services, acting, fee_id, form)


async def show_fee(
    request: Request,
    services: Services,
    acting: ActingFor,
    fee_id: uuid.UUID,
    form: dict[str, str],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    try:
        patient = forms.patient_id(form)
    except forms.Invalid as invalid:
        return render(request, "home.html", 422, acting=acting, errors=invalid.errors)
    try:
        fee, types = await asyncio.gather(services.fee(acting.as_, fee_id), fee_types(services, acting))
    except Refused as refused:
        return await show_patient(request, services, acting, patient, refused=refused)
    return render(
        request,
        "fee.html",
        status_code,
        acting=acting,
        patient_id=patient,
        fee=fee,
        fee_types=types,
        may_correct=acting.may(Action.CORRECT_FEE.value),
        may_delete=acting.may(Action.DELETE_FEE.value),
        form=form,
        **extra,
    )


@router.post("/fees/{fee_id}/correction")
async def correct(fee_id: uuid.UUID, request: Request, services: Services, acting: ActingFor) -> Response:
    """A correction (rättelse): a new version of the fee, the earlier ones kept."""
    form = text_fields(await request.form())
    try:
        patient = forms.patient_id(form)
        version = forms.version(form)
        change = forms.correction(form, {t.code for t in await fee_types(services, acting)})
    except forms.Invalid as invalid:
        return await show_fee(request, services, acting, fee_id, form, 422, errors=invalid.errors)
    try:
        await services.correct(acting.as_, fee_id, version, change)
    except Refused as refused:
        return await show_fee(request, services, acting, fee_id, form, refused.status, refused=refused)
    return await show_patient(request, services, acting, patient, message="message.corrected")


@router.post("/fees/{fee_id}/deletion")
async def delete(fee_id: uuid.UUID, request: Request, services: Services, acting: ActingFor) -> Response:
    """A deletion (makulering): a last version of the fee, the earlier ones kept."""
    form = text_fields(await request.form())
    try:
        patient = forms.patient_id(form)
        version = forms.version(form)
        why = forms.deletion_reason(form)
    except forms.Invalid as invalid:
        errors = {f"delete_{k}": v for k, v in invalid.errors.items()}
        return await show_fee(request, services, acting, fee_id, form, 422, errors=errors)
    try:
        await services.delete(acting.as_, fee_id, version, why)
    except Refused as refused:
        return await show_fee(request, services, acting, fee_id, form, refused.status, refused=refused)
    return await show_patient(request, services, acting, patient, message="message.deleted")
