"""HTTP errors as RFC 9457 problem details (`application/problem+json`), the same in every service.

Every error a service answers, its own and the framework's (no identity, a malformed path or body),
has `type`, `title`, `status`, `detail` and `code` (the type's last segment), `field` when one field
is at fault, and `reasons` (each with `code`, `field`, `message`) when there is more than one thing
to say, as a refused fee or a request that fails validation in several places.

Problem types are named by codes; where the integration contract has a rejection code for the
same thing (`missing_field`, `invalid_value`, the authorization denials) that code is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.integration import RejectionReason

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://efrikort.example/problems/"

Reason = RejectionReason
"""One thing at fault: the integration contract's rejection reason, so HTTP and Kafka say it alike."""


class Problem(Exception):
    """Raise from a route: answered as a problem document. `code` becomes the type's last segment."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        field: str | None = None,
        *,
        reasons: Sequence[Reason] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
        self.reasons = tuple(reasons)
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
            "code": self.code,
        }
        if self.field is not None:
            body["field"] = self.field
        if self.reasons:
            body["reasons"] = [r.model_dump(mode="json") for r in self.reasons]
        return JSONResponse(body, status_code=self.status, media_type=MEDIA_TYPE, headers=self.headers)


def from_reasons(status: int, title: str, reasons: Sequence[Reason], whole: str = "request") -> JSONResponse:
    """A problem listing every reason; its own code and field are the first reason's."""
    return refusal(status, title, reasons, whole).response()


def refusal(status: int, title: str, reasons: Sequence[Reason], whole: str = "request") -> Problem:
    """`whole` names what a reason without a field is about, in the detail."""
    if not reasons:
        raise ValueError("a refusal needs at least one reason")
    first = reasons[0]
    detail = "; ".join(f"{r.field or whole}: {r.message}" for r in reasons)
    return Problem(status, first.code, title, detail, first.field, reasons=reasons)


_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    422: "invalid_request",
}
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Too large",
    422: "The request is not valid",
}
_PLACES = ("body", "query", "path", "header")
"""Where a value came from: not part of the field's name."""


def validation_reasons(error: RequestValidationError) -> list[Reason]:
    """Each failure of the request's validation: its field and why, never the value (it may be an
    identity number)."""
    reasons = [
        Reason(
            code="missing_field" if e.get("type") == "missing" else "invalid_value",
            field=".".join(str(p) for p in e.get("loc", ()) if p not in _PLACES) or None,
            message=str(e.get("msg", "invalid")),
        )
        for e in error.errors()
    ]
    return reasons or [Reason(code="invalid_value", message="invalid request")]


def problem_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a router: each status answered with a problem document."""
    return {
        status: {"description": description, "content": {MEDIA_TYPE: {"schema": {"type": "object"}}}}
        for status, description in descriptions.items()
    }


def install(app: FastAPI) -> None:
    """Answer the application's errors, its own and the framework's, as problem documents."""

    @app.exception_handler(Problem)
    async def problem(request: Request, error: Problem) -> JSONResponse:
        return error.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        status = error.status_code
        return Problem(
            status, _CODES.get(status, "error"), _TITLES.get(status, "Error"), str(error.detail), headers=error.headers
        ).response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return from_reasons(422, _TITLES[422], validation_reasons(error))
