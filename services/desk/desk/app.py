"""The desk's ASGI application: its pages, its static files, the runtime's operations routes, and the
security every page gets (CSP and the other headers, the session, the CSRF check).

The desk has no database and no Kafka, so it is not a `runtime.service.Service`: it takes the runtime's HTTP
pieces (correlation ids, JSON logs, health and metrics, TLS serving with client certificates) and serves
them itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.pages import central, desk_pages, overcharges, sign_in
from desk.pages.common import CsrfRefused, SignInNeeded, UnitNeeded, check_csrf, is_htmx, render
from desk.services_client import ServicesClient
from desk.settings import DeskSettings
from runtime.http import CorrelationMiddleware, RequestMetricsMiddleware
from runtime.logs import configure_logging
from runtime.memory import freeze_start_up_objects
from runtime.service import health, metrics
from runtime.settings import DevelopmentDefaultsRefused
from runtime.tls import server_config

log = logging.getLogger(__name__)

NAME = "desk"
STATIC = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def security_headers(*, static: bool, tls: bool) -> list[tuple[bytes, bytes]]:
    """A strict CSP (no inline script or style anywhere), no framing, no sniffing, no referrer; and no
    caching of anything but the static files (pages may hold patient data)."""
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if not static:
        headers.append((b"cache-control", b"no-store"))
    if tls:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityHeaders:
    """Every answer carries `security_headers`."""

    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = security_headers(static=str(scope.get("path", "")).startswith("/static/"), tls=self.tls)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _redirect(request: Request, to: str) -> Response:
    """Somewhere else: a 303 for a browser, the HX-Redirect header for htmx (it would swap the page in)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": to})
    return RedirectResponse(to, status_code=303)


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, error: SignInNeeded) -> Response:
        return _redirect(request, "/sign-in")

    @app.exception_handler(UnitNeeded)
    async def unit_first(request: Request, error: UnitNeeded) -> Response:
        return _redirect(request, "/units")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, error: CsrfRefused) -> HTMLResponse:
        return render(request, "error.html", 403, message_key="error.csrf")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        key = "error.not_found" if error.status_code == 404 else "error.http"
        return render(request, "error.html", error.status_code, message_key=key)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> HTMLResponse:
        # Only the kind of failure: its message might hold what a person typed. The correlation id ties it
        # to the request.
        log.error("a page failed: %s", type(error).__name__)
        page = render(request, "error.html", 500, message_key="error.unexpected")
        # Answered outside the middleware that adds them (Starlette's last resort wraps everything).
        for name, value in security_headers(static=False, tls=request.app.state.settings.serves_tls):
            page.headers[name.decode()] = value.decode()
        return page


async def ready(request: Request) -> JSONResponse:
    """Ready when every service the desk calls answers."""
    checks = await request.app.state.services.answering()
    status = 200 if all(checks.values()) else 503
    return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)


def build(settings: DeskSettings) -> FastAPI:
    """The desk's application for these settings."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.warn_about_development_defaults()
        freeze_start_up_objects()
        yield
        await app.state.services.close()

    app = FastAPI(
        title="e-frikort desk", lifespan=lifespan, dependencies=[Depends(check_csrf)], docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.services = ServicesClient(settings)
    install_error_pages(app)
    app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ready", ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    for pages in (sign_in, desk_pages, overcharges, central):
        app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="efrikort_desk",
        max_age=settings.session_max_age_s,
        same_site="strict",
        https_only=settings.serves_tls,
    )
    app.add_middleware(SecurityHeaders, tls=settings.serves_tls)
    app.add_middleware(CorrelationMiddleware)
    # As every service counts and times its requests: the dashboard's and the error-rate alert's series.
    app.add_middleware(RequestMetricsMiddleware)
    return app


def main() -> None:
    settings = DeskSettings.for_service(NAME, http_port=8080)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    try:
        settings.refuse_development_defaults()
    except DevelopmentDefaultsRefused as refused:
        log.critical("desk does not start: %s", refused)
        raise SystemExit(2) from None
    uvicorn.Server(server_config(build(settings), settings)).run()
