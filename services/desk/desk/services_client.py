"""The one client of the other services: every call is made as the signed-in person, for the unit they act for.

In development mode the person is named in `X-HSA-ID` (the services then trust that header); in production
the desk shows its own client certificate and names the person in `X-On-Behalf-Of`. The acting unit is
always in `X-Care-Unit`, and the request's correlation id goes along in `X-Correlation-ID`.

A service's refusal (RFC 9457 problem details) becomes `Refused`, for the page to show its reason.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter

from contracts.ids import time_ordered_id
from desk.settings import DeskSettings
from runtime.logs import correlation_id
from runtime.tls import CLIENT_IDLE_CONNECTION_KEPT_S

T = TypeVar("T")


@dataclass(frozen=True)
class ActingAs:
    """Who the desk calls a service as: the person, and the unit they act for (none before they pick one)."""

    person: str
    care_unit: str | None = None


@dataclass(frozen=True)
class RefusalReason:
    code: str
    field: str | None
    message: str


class Refused(Exception):
    """A service said no (or could not be reached): its status, code, title and detail, as it gave them."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        field: str | None = None,
        reasons: list[RefusalReason] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
        self.reasons = reasons or []


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UnitGrant(_Model):
    """A unit the person may act for, with their role there and what it allows."""

    care_unit: str
    unit_name: str | None = None
    care_provider: str | None = None
    region: str | None = None
    role: str | None = None
    actions: list[str] = []


class FreeCard(_Model):
    number: str | None = None
    valid_from: date
    valid_to: date
    status: str


class Protection(_Model):
    """Where a patient stands: period start, ceiling, sum, what remains, the free card."""

    status: str | None = None
    period_start: date | None = None
    ceiling: int
    sum: int
    remaining: int
    free_card: FreeCard | None = None


class ExtractLine(_Model):
    fee_id: str | None = None
    visit_date: date
    care_unit: str
    fee_type: str
    fee_type_name: str | None = None
    fee_amount: int
    amount_due: int
    counted: int
    basis: str


class Extract(_Model):
    protection: Protection
    fees: list[ExtractLine]


class RegisteredFee(_Model):
    """A fee of the patient as registration holds it."""

    fee_id: str
    visit_date: date
    care_unit: str
    fee_type: str
    fee_amount: int
    paid_amount: int | None = None
    source: str
    receipt_issuer: str | None = None
    version: int
    deleted: bool = False
    registered_at: datetime | None = None


class FeeVersion(_Model):
    version: int
    change: str
    changed_by: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None
    deleted: bool
    visit_date: date
    fee_type: str
    fee_amount: int
    paid_amount: int | None = None


class FeeView(RegisteredFee):
    """A fee and every version of it, oldest first."""

    registered_by: str | None = None
    versions: list[FeeVersion] = []


class FeeType(_Model):
    code: str
    name: str | None = None
    name_sv: str | None = None
    name_en: str | None = None
    counting: bool | None = None
    default_amount: int | None = None


class Quote(_Model):
    """What a visit would cost (Att betala), computed without registering anything."""

    visit_date: date
    fee_type: str
    fee_amount: int
    amount_due: int
    counted_amount: int | None = None
    reaches_ceiling: bool = False
    free_card_applies: bool = False
    protection: Protection


class Outcome(_Model):
    """A registered fee's outcome: what the patient pays, and where they now stand."""

    status: str
    fee_id: str | None = None
    amount_due: int | None = None
    counted_amount: int | None = None
    protection: Protection | None = None


class Overcharge(_Model):
    overcharge_id: str
    fee_id: str
    care_unit: str
    visit_date: date
    fee_type: str
    paid_amount: int
    amount_due: int
    amount: int
    found_at: datetime


class TrailEntry(_Model):
    """One read or change of a patient's data: who, through which system, for which unit, what."""

    occurred_at: datetime
    actor: str
    system_id: str | None = None
    care_unit: str | None = None
    action: str
    service: str
    subject: str | None = None


class Notice(_Model):
    """A notice to a patient (no patient data: its kind, channel and how sending it went)."""

    id: int
    kind: str
    cause: str | None = None
    channel: str
    language: str | None = None
    state: str
    attempts: int
    last_error: str | None = None
    updated_at: datetime


class IntegratedSystem(_Model):
    system_id: str
    name: str | None = None
    certified: bool
    suspended: bool = False
    approved_regions: list[str] = []
    state: str | None = None
    """approved, suspended, not_certified or not_approved (for this deployment's region)"""


class Agreement(_Model):
    care_provider: str
    name: str | None = None
    region: str | None = None
    signed_on: date | None = None
    terminated_on: date | None = None
    state: str | None = None
    """signed, terminated, pending or none"""


@dataclass(frozen=True)
class FeeSubmission:
    """A fee the desk registers (a visit, or a paper receipt with its issuer)."""

    patient_id: str
    visit_date: date
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    source: str
    receipt_issuer: str | None


@dataclass(frozen=True)
class Correction:
    """A correction (rättelse) of a fee: every value as it should now be, and why."""

    visit_date: date
    fee_type: str
    fee_amount: int
    paid_amount: int | None
    reason: str


class ServicesClient:
    """HTTP to registration, protection, access and notifications, as the person the desk acts for."""

    def __init__(self, settings: DeskSettings) -> None:
        self.settings = settings
        self.on_behalf = settings.client_certificate is not None
        self.http = httpx.AsyncClient(
            timeout=settings.service_timeout_s,
            verify=_verification(settings),
            limits=httpx.Limits(keepalive_expiry=CLIENT_IDLE_CONNECTION_KEPT_S),
        )
        self.base = {
            "registration": settings.registration_url.rstrip("/"),
            "protection": settings.protection_url.rstrip("/"),
            "access": settings.access_url.rstrip("/"),
            "notifications": settings.notifications_url.rstrip("/"),
        }

    async def close(self) -> None:
        await self.http.aclose()

    def headers(self, acting: ActingAs) -> dict[str, str]:
        headers = {"X-Correlation-ID": correlation_id.get() or str(uuid.uuid4())}
        headers["X-On-Behalf-Of" if self.on_behalf else "X-HSA-ID"] = acting.person
        if acting.care_unit:
            headers["X-Care-Unit"] = acting.care_unit
        return headers

    async def call(self, acting: ActingAs, method: str, service: str, path: str, **options: Any) -> httpx.Response:
        """One request; a refusal (4xx/5xx) or an unreachable service raised as `Refused`."""
        headers = {**self.headers(acting), **options.pop("headers", {})}
        try:
            response = await self.http.request(method, self.base[service] + path, headers=headers, **options)
        except httpx.HTTPError:
            raise Refused(503, "service_unavailable", "Service unavailable", service) from None
        if response.status_code >= 400:
            raise refusal_of(response)
        return response

    async def answer(self, acting: ActingAs, kind: type[T] | Any, method: str, service: str, path: str, **o: Any) -> T:
        response = await self.call(acting, method, service, path, **o)
        answer: T = TypeAdapter(kind).validate_python(response.json())
        return answer

    async def my_units(self, person: str) -> list[UnitGrant]:
        return await self.answer(ActingAs(person), list[UnitGrant], "GET", "access", "/v1/me/units")

    async def protection(self, acting: ActingAs, patient_id: str) -> Protection:
        body = {"patient_id": patient_id}
        return await self.answer(acting, Protection, "POST", "protection", "/v1/patients/protection", json=body)

    async def extract(self, acting: ActingAs, patient_id: str) -> Extract:
        body = {"patient_id": patient_id}
        return await self.answer(acting, Extract, "POST", "protection", "/v1/patients/extract", json=body)

    @asynccontextmanager
    async def extract_pdf(self, acting: ActingAs, patient_id: str) -> AsyncIterator[httpx.Response]:
        """The extract as a PDF, its body still to be read (streamed through to the browser)."""
        request = self.http.build_request(
            "POST",
            self.base["protection"] + "/v1/patients/extract",
            json={"patient_id": patient_id},
            headers={**self.headers(acting), "Accept": "application/pdf"},
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError:
            raise Refused(503, "service_unavailable", "Service unavailable", "protection") from None
        try:
            if response.status_code >= 400:
                await response.aread()
                raise refusal_of(response)
            yield response
        finally:
            await response.aclose()

    async def patient_fees(self, acting: ActingAs, patient_id: str) -> list[RegisteredFee]:
        body = {"patient_id": patient_id}
        return await self.answer(acting, list[RegisteredFee], "POST", "registration", "/v1/patients/fees", json=body)

    async def fee_types(self, acting: ActingAs) -> list[FeeType]:
        return await self.answer(acting, list[FeeType], "GET", "protection", "/v1/fee-types")

    async def quote(self, acting: ActingAs, fee: FeeSubmission) -> Quote:
        body = {
            "patient_id": fee.patient_id,
            "visit_date": fee.visit_date.isoformat(),
            "care_unit": acting.care_unit,
            "fee_type": fee.fee_type,
            "fee_amount": fee.fee_amount,
        }
        return await self.answer(acting, Quote, "POST", "protection", "/v1/quotes", json=body)

    async def register(self, acting: ActingAs, fee: FeeSubmission) -> Outcome:
        """Register the fee and answer with its outcome: registration waits for it a while, and when it
        answers 202 instead the desk polls the `Location` it names until the outcome is there."""
        body: dict[str, Any] = {
            "submission_id": f"desk-{time_ordered_id()}",
            "patient_id": fee.patient_id,
            "visit_date": fee.visit_date.isoformat(),
            "care_unit": acting.care_unit,
            "registered_by": acting.person,
            "fee_type": fee.fee_type,
            "fee_amount": fee.fee_amount,
            "paid_amount": fee.paid_amount,
            "source": fee.source,
            "receipt_issuer": fee.receipt_issuer,
        }
        response = await self.call(acting, "POST", "registration", "/v1/fees", json=body)
        return await self._outcome_of(acting, response)

    async def _outcome_of(self, acting: ActingAs, response: httpx.Response) -> Outcome:
        waited = 0.0
        while response.status_code == 202:
            if waited >= self.settings.registration_wait_s:
                return Outcome(status="pending", fee_id=response.json().get("fee_id"))
            pause = min(float(response.headers.get("Retry-After", "1") or 1), 1.0)
            await asyncio.sleep(pause)
            waited += pause
            response = await self.call(acting, "GET", "registration", response.headers["Location"])
        return Outcome.model_validate(response.json())

    async def fee(self, acting: ActingAs, fee_id: uuid.UUID) -> FeeView:
        return await self.answer(acting, FeeView, "GET", "registration", f"/v1/fees/{fee_id}")

    async def correct(self, acting: ActingAs, fee_id: uuid.UUID, version: int, correction: Correction) -> FeeView:
        body = {
            "visit_date": correction.visit_date.isoformat(),
            "fee_type": correction.fee_type,
            "fee_amount": correction.fee_amount,
            "paid_amount": correction.paid_amount,
            "reason": correction.reason,
        }
        headers = {"If-Match": f'"{version}"'}
        path = f"/v1/fees/{fee_id}"
        return await self.answer(acting, FeeView, "PATCH", "registration", path, json=body, headers=headers)

    async def delete(self, acting: ActingAs, fee_id: uuid.UUID, version: int, reason: str) -> FeeView:
        headers = {"If-Match": f'"{version}"'}
        params = {"reason": reason}
        path = f"/v1/fees/{fee_id}"
        return await self.answer(acting, FeeView, "DELETE", "registration", path, headers=headers, params=params)

    async def overcharges(self, acting: ActingAs) -> list[Overcharge]:
        path = f"/v1/care-units/{acting.care_unit}/overcharges"
        return await self.answer(acting, list[Overcharge], "GET", "protection", path)

    async def mark_refunded(self, acting: ActingAs, overcharge_id: uuid.UUID) -> Overcharge:
        path = f"/v1/overcharges/{overcharge_id}/refunded"
        return await self.answer(acting, Overcharge, "POST", "protection", path)

    async def audit_trail(self, acting: ActingAs, patient_id: str) -> list[TrailEntry]:
        body = {"patient_id": patient_id}
        return await self.answer(acting, list[TrailEntry], "POST", "access", "/v1/audit/trail", json=body)

    async def membership(self, acting: ActingAs, patient_id: str, change: str) -> None:
        """Utträde (`exit`) or återinträde (`reentry`) of the patient."""
        await self.call(acting, "POST", "access", f"/v1/patients/{change}", json={"patient_id": patient_id})

    async def failed_notices(self, acting: ActingAs) -> list[Notice]:
        params = {"state": "failed"}
        return await self.answer(acting, list[Notice], "GET", "notifications", "/v1/notices", params=params)

    async def resend_notice(self, acting: ActingAs, notice_id: int) -> None:
        await self.call(acting, "POST", "notifications", f"/v1/notices/{notice_id}/resend")

    async def import_directory(self, acting: ActingAs, export: bytes) -> dict[str, Any]:
        """A directory export file to access, as it is: access judges it."""
        headers = {"Content-Type": "application/json"}
        path = "/v1/directory/imports"
        return await self.answer(acting, dict[str, Any], "POST", "access", path, content=export, headers=headers)

    async def systems(self, acting: ActingAs) -> list[IntegratedSystem]:
        return await self.answer(acting, list[IntegratedSystem], "GET", "access", "/v1/systems")

    async def agreements(self, acting: ActingAs) -> list[Agreement]:
        return await self.answer(acting, list[Agreement], "GET", "access", "/v1/agreements")

    async def answering(self) -> dict[str, bool]:
        """Which of the services the desk calls answer their /health: the desk is ready when all do."""

        async def alive(base: str) -> bool:
            try:
                return (await self.http.get(base + "/health", timeout=2.0)).status_code == 200
            except httpx.HTTPError:
                return False

        results = await asyncio.gather(*(alive(base) for base in self.base.values()))
        return dict(zip(self.base, results, strict=True))


def refusal_of(response: httpx.Response) -> Refused:
    """A service's problem document as a `Refused`; a body that is none still gives the status."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    reasons = [
        RefusalReason(str(r.get("code", "")), r.get("field"), str(r.get("message", "")))
        for r in problem.get("reasons") or []
        if isinstance(r, dict)
    ]
    return Refused(
        status=response.status_code,
        code=str(problem.get("code") or "error"),
        title=str(problem.get("title") or response.reason_phrase),
        detail=str(problem.get("detail") or ""),
        field=problem.get("field"),
        reasons=reasons,
    )


def _verification(settings: DeskSettings) -> ssl.SSLContext | bool:
    """TLS towards the services: their CA, and the desk's own certificate when it calls on behalf of people."""
    if settings.client_certificate is None and settings.services_ca is None:
        return True
    context = ssl.create_default_context(cafile=settings.services_ca)
    if settings.client_certificate is not None:
        context.load_cert_chain(settings.client_certificate, settings.client_private_key)
    return context
