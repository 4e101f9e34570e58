"""What every service's HTTP routes share, written once: who calls, for which unit, the unit of work,
the patient key of an identity number, the service's own objects, and the request's correlation id.

Routes are module-level `APIRouter`s whose handlers take these as `Annotated` parameters:

    @router.get("/v1/things")
    async def things(caller: CurrentCaller, acting_unit: ActingUnit, work: UnitOfWorkDep) -> ...

A service's own objects (its region settings, say) are handed to `Service(provides=[...])` in its
`app.py` and asked for by type: `Region = Annotated[RegionSettings, Depends(provided(RegionSettings))]`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.identity import IdentityNumber, InvalidIdentityNumber
from runtime.identity import Caller, CurrentCaller
from runtime.logs import correlation_id
from runtime.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS
from runtime.patient_key import patient_key
from runtime.problems import Problem
from runtime.settings import ServiceSettings
from runtime.tracing import TracingMiddleware
from runtime.transaction import UnitOfWork

if TYPE_CHECKING:
    from runtime.service import Runtime

__all__ = [
    "ActingUnit",
    "Caller",
    "CurrentCaller",
    "PatientRequest",
    "SettingsDep",
    "UnitOfWorkDep",
    "install",
    "patient_key_of",
    "provided",
]

T = TypeVar("T")

CORRELATION_HEADER = "X-Correlation-ID"
_READABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
"""A caller's correlation id is kept only when it is plainly an id: it goes into every log line."""


ActingUnit = Annotated[str | None, Header(alias="X-Care-Unit", description="The unit the caller acts for.")]
"""The unit an HTTP caller acts for; when left out, any unit where they hold a grant that allows the action."""


# The dependencies are `async def` though they wait for nothing: FastAPI runs a plain `def` dependency in
# a worker thread: a thread hop (and a turn for the GIL) per dependency per request, four for each
# `POST /v1/fees`.


async def runtime_of(request: Request) -> Runtime[Any]:
    """The runtime the service runs on (for the runtime's own routes)."""
    return _runtime(request)


async def unit_of_work(request: Request) -> UnitOfWork:
    return _runtime(request).uow


async def service_settings(request: Request) -> ServiceSettings:
    return _runtime(request).settings


def _runtime(request: Request) -> Runtime[Any]:
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


UnitOfWorkDep = Annotated[UnitOfWork, Depends(unit_of_work)]
"""Begin a transaction with `async with work.begin() as tx`; what it emits carries the request's correlation id."""
SettingsDep = Annotated[ServiceSettings, Depends(service_settings)]


def provided(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency answering the object of type `kind` the service was built with (`Service.provides`)."""

    async def dependency(request: Request) -> T:
        found: T = request.app.state.provided[kind]
        return found

    dependency.__name__ = f"provided_{kind.__name__}"
    return dependency


def patient_key_of(patient_id: str, secret: str) -> str:
    """The pseudonymous key of an identity number a caller gave, or a 422 naming `patient_id` (never the number)."""
    try:
        number = IdentityNumber.parse(patient_id)
    except InvalidIdentityNumber as error:
        raise Problem(
            422, "invalid_patient_id", "Invalid identity number", f"patient_id: {error}", field="patient_id"
        ) from None
    return patient_key(number.digits, secret)


class PatientRequest(BaseModel):
    """A request about one patient. The identity number travels in the body, never in a URL: proxies,
    access logs and browser histories keep URLs. A route's own body extends this with what else it needs."""

    model_config = ConfigDict(extra="forbid")

    patient_id: str = Field(
        max_length=20,
        description="The patient's identity number, YYYYMMDDNNNN or YYYYMMDD-NNNN; turned into the patient key "
        "at once, never stored or logged.",
        examples=["19850412-1230"],
    )

    def patient_key(self, settings: ServiceSettings) -> str:
        """The pseudonymous key of the patient this request is about, or a 422 naming `patient_id`."""
        return patient_key_of(self.patient_id, settings.patient_key_secret.get_secret_value())


class CorrelationMiddleware:
    """Every request has a correlation id: the caller's `X-Correlation-ID` when it is a plain id, else a
    new one. It is in every log line of the request, in the envelope of every event the request causes
    (the unit of work takes it), and in the response's header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-correlation-id")
        cid = given if given and _READABLE_ID.fullmatch(given) else str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode())]
            await send(message)

        token = correlation_id.set(cid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


class RequestMetricsMiddleware:
    """Counts each request by method, route template and status, and times it, for /metrics. The route
    template, never the path: a path may hold an id, and every distinct path would be a series of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the application fails before it starts a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope.get("method", ""), route, str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def install(app: FastAPI, runtime: Runtime[Any], provides: Sequence[object]) -> None:
    """Give the routes what they ask for, and a correlation id to every request."""
    app.state.runtime = runtime
    app.state.provided = {type(thing): thing for thing in provides}
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    if runtime.tracing is not None:
        app.add_middleware(TracingMiddleware, tracer=runtime.tracing.tracer)
