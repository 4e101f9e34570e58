"""HTTP errors as RFC 9457 problem details (`application/problem+json`), the same in every service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise in a route to answer with a problem document; `field` names the input at fault."""

    def __init__(self, status: int, title: str, detail: str, *, code: str | None = None, field: str | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.code, self.field, self.extra = code, field, extra

    def document(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://e-frikort.se/problems/{self.code or self.status}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.code:
            body["code"] = self.code
        if self.field:
            body["field"] = self.field
        return {**body, **self.extra}


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    # No `instance`: request paths carry identity numbers (/v1/patients/{patient_id}/...).
    return JSONResponse(problem.document(), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    """Every error a service answers, including FastAPI's own, becomes a problem document."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(error)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # Field and reason of each problem, never the value (it may be an identity number).
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")) or None,
                   "reason": e["msg"]} for e in error.errors()]
        first = errors[0] if errors else {"field": None, "reason": "invalid request"}
        problem = Problem(422, "Invalid request", f"{first['field']}: {first['reason']}", code="invalid_request",
                          field=first["field"], errors=errors)
        return problem_response(problem)

    # Starlette's, so that FastAPI's own errors (an unknown path, a wrong method) are problems too.
    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, error: HTTPException) -> JSONResponse:
        problem = Problem(error.status_code, _TITLES.get(error.status_code, "Error"), str(error.detail))
        return problem_response(problem, headers=dict(error.headers or {}))


_TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 413: "Too large", 415: "Unsupported media type", 422: "Invalid request"}
