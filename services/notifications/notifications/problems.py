"""HTTP errors as RFC 9457 problem details, for this service's routes.

The routes use `ProblemRoute`, which turns request validation errors and HTTP exceptions (including
the 401 of a caller without identity) into `application/problem+json`, naming the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://efrikort.example/problems/"

_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Conflict",
    422: "Invalid request",
}


class Problem(HTTPException):
    """An error a route raises on purpose: a problem type, a detail, and the field when there is one."""

    def __init__(self, status: int, problem_type: str, detail: str, field: str | None = None) -> None:
        super().__init__(status_code=status, detail=detail)
        self.problem_type = problem_type
        self.field = field


def problem_response(
    status: int, problem_type: str, detail: str, field: str | None = None, errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem_type, "title": _TITLES.get(status, "Error"), "status": status, "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_of(location: tuple[Any, ...]) -> str:
    # ("body", "email") -> "email"; ("path", "patient_id") -> "patient_id"
    parts = [str(p) for p in location[1:]] if location and location[0] in {"body", "path", "query"} else list(location)
    return ".".join(str(p) for p in parts) or "body"


class ProblemRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_problems(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                # Field and reason, never the value: it may be personal data.
                errors = [{"field": _field_of(tuple(e["loc"])), "reason": e["msg"]} for e in error.errors()]
                detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
                return problem_response(422, "validation", detail, errors[0]["field"] if errors else None, errors)
            except Problem as problem:
                return problem_response(problem.status_code, problem.problem_type, str(problem.detail), problem.field)
            except HTTPException as error:
                return problem_response(error.status_code, "http-" + str(error.status_code), str(error.detail))

        return with_problems
