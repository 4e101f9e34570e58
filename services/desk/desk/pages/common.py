"""What every page shares: the signed-in person, the unit they act for, the CSRF check, the services client,
and rendering a template in the person's language.

The session (a signed cookie) holds who signed in (development sign-in only; with TLS the person is the
client certificate on every request), the unit picked, the CSRF token and the language: never patient data.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from contracts.authorization import Action
from desk.i18n import Translator, language_of
from desk.services_client import ActingAs, Refused, ServicesClient
from desk.settings import DeskSettings
from runtime.identity import from_client_certificate

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CENTRAL_PAGES = (
    ("/central/audit", Action.READ_AUDIT_TRAIL.value, "nav.audit"),
    ("/central/membership", Action.PATIENT_EXIT.value, "nav.membership"),
    ("/central/notices", Action.MANAGE_NOTICES.value, "nav.notices"),
    ("/central/directory", Action.MANAGE_ACCESS.value, "nav.directory"),
    ("/central/systems", Action.MANAGE_ACCESS.value, "nav.systems"),
)
"""Central support's and the administrators' pages: the action a role must allow for the navigation to offer
each, and its name."""

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


class SignInNeeded(Exception):
    """Nobody is signed in: the page sends them to sign in."""


class UnitNeeded(Exception):
    """The person has not picked a unit to act for: the page sends them to pick one."""


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token."""


# The dependencies below are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a thread
# hop for each on every page, for work that never waits.


async def services_client(request: Request) -> ServicesClient:
    client: ServicesClient = request.app.state.services
    return client


async def desk_settings(request: Request) -> DeskSettings:
    return _settings_of(request)


def _settings_of(request: Request) -> DeskSettings:
    settings: DeskSettings = request.app.state.settings
    return settings


Services = Annotated[ServicesClient, Depends(services_client)]
Settings = Annotated[DeskSettings, Depends(desk_settings)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made when the session first needs one."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Every unsafe request carries the session's token: as a form field (plain POST) or a header (htmx)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or given is None or not hmac.compare_digest(expected, given):
        raise CsrfRefused


def text_fields(form: FormData) -> dict[str, str]:
    """A submitted form's text fields (a file upload is none of the desk's forms)."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def signed_in_person(request: Request) -> str:
    """The person: the client certificate's HSA-ID under TLS, else whoever the development sign-in chose."""
    settings = _settings_of(request)
    if settings.serves_tls:
        caller = from_client_certificate(request)
        if caller is None:
            raise SignInNeeded
        if request.session.get("person") != caller.hsa_id:
            # Another card in the same browser: nothing of the earlier person's session carries over.
            request.session.clear()
            request.session["person"] = caller.hsa_id
        return caller.hsa_id
    person = request.session.get("person")
    if not settings.development_sign_in or not isinstance(person, str):
        raise SignInNeeded
    return person


Person = Annotated[str, Depends(signed_in_person)]


@dataclass(frozen=True)
class Acting:
    """The person and the unit they act for, their role there and what it allows."""

    person: str
    care_unit: str
    unit_name: str
    role: str
    actions: frozenset[str] = field(default_factory=frozenset)

    @property
    def as_(self) -> ActingAs:
        return ActingAs(self.person, self.care_unit)

    def may(self, action: str) -> bool:
        return action in self.actions


async def acting_unit(request: Request, person: Person) -> Acting:
    unit = request.session.get("unit")
    if not isinstance(unit, dict):
        raise UnitNeeded
    return Acting(
        person=person,
        care_unit=str(unit["care_unit"]),
        unit_name=str(unit.get("unit_name") or unit["care_unit"]),
        role=str(unit["role"]),
        actions=frozenset(unit.get("actions") or ()),
    )


ActingFor = Annotated[Acting, Depends(acting_unit)]


async def translator(request: Request) -> Translator:
    return _words_of(request)


def _words_of(request: Request) -> Translator:
    return Translator(language_of(request.session.get("lang")))


Words = Annotated[Translator, Depends(translator)]


def is_htmx(request: Request) -> bool:
    """An htmx request wants the part of the page it swaps in, not the whole page."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or, for htmx, its part) in the person's language; never cached (it may hold patient data)."""
    words = _words_of(request)
    settings = _settings_of(request)
    unit = request.session.get("unit")
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": words,
            "lang": words.language,
            "csrf_token": csrf_token(request),
            "development": settings.development_sign_in,
            "signed_in": request.session.get("person"),
            "unit": unit if isinstance(unit, dict) else None,
            "actions": frozenset(unit.get("actions") or ()) if isinstance(unit, dict) else frozenset(),
            "errors": {},
            "central_pages": CENTRAL_PAGES,
            **context,
        },
        status_code=status_code,
    )
    return response


def refusal_text(words: Translator, refused: Refused) -> tuple[str, str]:
    """A service's refusal as a title and a detail the person reads: in their language where its code is
    known, else as the service said it (never a stack trace: the service never sends one)."""
    if words.knows(f"refusal.{refused.code}"):
        return words("refusal.title"), words(f"refusal.{refused.code}")
    return refused.title, refused.detail
