"""Signing in, picking the unit to act for, signing out, and the language switch."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from desk import forms
from desk.i18n import language_of
from desk.pages.common import Person, Services, Settings, render, text_fields
from desk.services_client import Refused

router = APIRouter(tags=["sign-in"])


class Employee(NamedTuple):
    """Someone the development sign-in offers: their HSA-ID and name, from the sample directory."""

    hsa_id: str
    name: str


@cache
def employees_in(directory: Path) -> list[Employee]:
    export = json.loads(directory.read_text(encoding="utf-8"))
    return [Employee(e["hsa_id"], e["name"]) for e in export.get("employees", [])]


def _local(path: str) -> str:
    """A place in the desk to go back to: a path of ours, never another site."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.get("/sign-in")
async def sign_in_page(request: Request, settings: Settings) -> Response:
    if settings.serves_tls:
        return RedirectResponse("/units", status_code=303)
    if not settings.development_sign_in:
        return render(request, "sign_in_card.html")
    return render(request, "sign_in.html", employees=employees_in(settings.sign_in_directory))


@router.post("/sign-in")
async def sign_in(request: Request, settings: Settings) -> Response:
    """Development sign-in: whoever is picked. Outside development mode there is no such door."""
    if not settings.development_sign_in:
        return render(request, "sign_in_card.html", 404)
    form = await request.form()
    hsa_id = str(form.get("hsa_id") or "").strip()
    known = {e.hsa_id for e in employees_in(settings.sign_in_directory)}
    if hsa_id not in known:
        errors = {"hsa_id": "error.hsa_id.missing" if not hsa_id else "error.hsa_id.invalid"}
        employees = employees_in(settings.sign_in_directory)
        return render(request, "sign_in.html", 422, employees=employees, errors=errors)
    language = request.session.get("lang")
    request.session.clear()
    request.session.update({"person": hsa_id, "lang": language_of(language)})
    return RedirectResponse("/units", status_code=303)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    language = request.session.get("lang")
    request.session.clear()
    request.session["lang"] = language_of(language)
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/units")
async def units_page(request: Request, person: Person, services: Services) -> Response:
    try:
        grants = await services.my_units(person)
    except Refused as refused:
        return render(request, "units.html", refused.status, grants=[], refused=refused)
    return render(request, "units.html", grants=grants, person=person)


@router.post("/units")
async def pick_unit(request: Request, person: Person, services: Services) -> Response:
    """The unit the person acts for from now on, among their grants; what their role there allows decides
    what the pages offer (the services decide again on every call)."""
    grants = await services.my_units(person)
    try:
        unit = forms.care_unit(text_fields(await request.form()), {g.care_unit for g in grants})
    except forms.Invalid as invalid:
        return render(request, "units.html", 422, grants=grants, person=person, errors=invalid.errors)
    grant = next(g for g in grants if g.care_unit == unit)
    request.session["unit"] = {
        "care_unit": grant.care_unit,
        "unit_name": grant.unit_name or grant.care_unit,
        "role": grant.role or "",
        "actions": sorted(grant.actions),
    }
    return RedirectResponse("/", status_code=303)


@router.post("/language")
async def switch_language(request: Request) -> Response:
    form = await request.form()
    request.session["lang"] = language_of(form.get("lang"))
    return RedirectResponse(_local(str(form.get("next") or "/")), status_code=303)
