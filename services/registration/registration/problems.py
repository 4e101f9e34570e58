"""HTTP errors as RFC 9457 problem details (`application/problem+json`).

Every error registration answers, its own and the framework's (no identity, a malformed path or
body), has `type`, `title`, `status`, `detail`, and, when one field is at fault, `code` and `field`;
a refused submission lists every reason in `reasons`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from contracts.integration import RejectionReason

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://efrikort.example/problems/"
"""Problem types are named by the rejection code; the integration contract lists them."""


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str | None = None,
    field: str | None = None,
    reasons: Sequence[RejectionReason] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code if code else "about:blank", "title": title, "status": status, "detail": detail,
    }
    if code:
        body["code"] = code
    if field:
        body["field"] = field
    if reasons:
        body["reasons"] = [r.model_dump(mode="json") for r in reasons]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def from_reasons(status: int, title: str, reasons: Sequence[RejectionReason]) -> JSONResponse:
    first = reasons[0]
    detail = "; ".join(f"{r.field or 'submission'}: {r.message}" for r in reasons)
    return problem(status, title, detail, code=first.code, field=first.field, reasons=reasons)


class ProblemRoute(APIRoute):
    """A route whose framework errors (401 without identity, 422 on a malformed path or body) are
    problem details too, like its own."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                reasons = [
                    RejectionReason(
                        code="missing_field" if e.get("type") == "missing" else "invalid_value",
                        field=".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "path", "query",
                                                                                     "header")) or None,
                        message=str(e.get("msg", "invalid")),
                    )
                    for e in error.errors()
                ] or [RejectionReason(code="invalid_value", message="invalid request")]
                return from_reasons(422, "The request is not valid", reasons)
            except HTTPException as error:
                return problem(error.status_code, _TITLES.get(error.status_code, "Error"), str(error.detail),
                               headers=dict(error.headers or {}))

        return handle


_TITLES = {401: "Not authenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}
    for status, description in {
        400: "Not JSON", 401: "No trusted identity", 403: "Not allowed: the code says what is missing",
        404: "No such fee or submission", 409: "Conflict", 412: "The fee has changed since the version given",
        413: "Too large", 422: "Not valid: every reason with its code and field",
    }.items()
}
