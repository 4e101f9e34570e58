"""Central support's and the region's administrators' pages: a patient's audit trail, patient exit and
re-entry (with a confirmation), failed notices and sending one again, a directory upload, and the
integrated systems and agreements. Each is offered only to a role that may, and each service decides again."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from desk import forms
from desk.pages.common import ActingFor, Services, render, text_fields
from desk.services_client import Refused

router = APIRouter(prefix="/central", tags=["central support"])

MAX_DIRECTORY_BYTES = 50 * 1024 * 1024
"""A region's full directory export is a few megabytes; a larger file is not one."""

MembershipChange = Literal["exit", "reentry"]


@router.get("/audit")
async def audit_page(request: Request, acting: ActingFor) -> Response:
    return render(request, "central_audit.html", acting=acting)


@router.post("/audit")
async def audit_trail(request: Request, services: Services, acting: ActingFor) -> Response:
    """Who read or changed the patient's data (on the patient's request)."""
    try:
        patient = forms.patient_id(text_fields(await request.form()))
    except forms.Invalid as invalid:
        return render(request, "central_audit.html", 422, acting=acting, errors=invalid.errors)
    try:
        trail = await services.audit_trail(acting.as_, patient)
    except Refused as refused:
        return render(request, "central_audit.html", refused.status, acting=acting, refused=refused)
    return render(request, "central_audit.html", acting=acting, trail=trail, looked_up=True)


def _change(form: dict[str, str]) -> MembershipChange:
    match form.get("change"):
        case "exit":
            return "exit"
        case "reentry":
            return "reentry"
    raise forms.Invalid({"change": "error.change.missing"})


@router.get("/membership")
async def membership_page(request: Request, acting: ActingFor) -> Response:
    return render(request, "central_membership.html", acting=acting)


@router.post("/membership/confirmation")
async def confirm_membership(request: Request, acting: ActingFor) -> Response:
    """The change asked for, to be confirmed: an exit removes the patient's data from every service."""
    form = text_fields(await request.form())
    try:
        patient, change = forms.patient_id(form), _change(form)
    except forms.Invalid as invalid:
        return render(request, "central_membership.html", 422, acting=acting, errors=invalid.errors)
    return render(request, "central_membership.html", acting=acting, confirm=change, patient_id=patient)


@router.post("/membership")
async def change_membership(request: Request, services: Services, acting: ActingFor) -> Response:
    form = text_fields(await request.form())
    try:
        patient, change = forms.patient_id(form), _change(form)
    except forms.Invalid as invalid:
        return render(request, "central_membership.html", 422, acting=acting, errors=invalid.errors)
    if form.get("confirmed") != "yes":
        return render(request, "central_membership.html", acting=acting, confirm=change, patient_id=patient)
    try:
        await services.membership(acting.as_, patient, change)
    except Refused as refused:
        return render(request, "central_membership.html", refused.status, acting=acting, refused=refused)
    return render(request, "central_membership.html", acting=acting, message=f"message.{change}")


@router.get("/notices")
async def failed_notices(request: Request, services: Services, acting: ActingFor) -> Response:
    try:
        notices = await services.failed_notices(acting.as_)
    except Refused as refused:
        return render(request, "central_notices.html", refused.status, acting=acting, notices=[], refused=refused)
    resent = request.query_params.get("resent") == "1"
    return render(request, "central_notices.html", acting=acting, notices=notices, resent=resent)


@router.post("/notices/{notice_id}/resend")
async def resend(notice_id: int, request: Request, services: Services, acting: ActingFor) -> Response:
    try:
        await services.resend_notice(acting.as_, notice_id)
    except Refused as refused:
        return render(request, "central_notices.html", refused.status, acting=acting, notices=[], refused=refused)
    return RedirectResponse("/central/notices?resent=1", status_code=303)


@router.get("/directory")
async def directory_page(request: Request, acting: ActingFor) -> Response:
    return render(request, "central_directory.html", acting=acting)


@router.post("/directory")
async def upload_directory(request: Request, services: Services, acting: ActingFor) -> Response:
    """A directory export file, handed to access as it is (access judges it, and who sends it)."""
    upload = (await request.form()).get("directory")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors = {"directory": "error.directory.missing"}
        return render(request, "central_directory.html", 422, acting=acting, errors=errors)
    export = await upload.read(MAX_DIRECTORY_BYTES + 1)
    if len(export) > MAX_DIRECTORY_BYTES:
        errors = {"directory": "error.directory.too_large"}
        return render(request, "central_directory.html", 413, acting=acting, errors=errors)
    try:
        summary = await services.import_directory(acting.as_, export)
    except Refused as refused:
        return render(request, "central_directory.html", refused.status, acting=acting, refused=refused)
    return render(request, "central_directory.html", acting=acting, summary=summary)


@router.get("/systems")
async def systems_and_agreements(request: Request, services: Services, acting: ActingFor) -> Response:
    try:
        systems = await services.systems(acting.as_)
        agreements = await services.agreements(acting.as_)
    except Refused as refused:
        return render(request, "central_systems.html", refused.status, acting=acting, refused=refused)
    return render(request, "central_systems.html", acting=acting, systems=systems, agreements=agreements)
