"""HTTP errors as RFC 9457 problem details (`application/problem+json`), the same in every service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://efrikort.example/problems/"


class Problem(Exception):
    """Raise from a route: answered as a problem document. `code` becomes the type's last segment."""

    def __init__(self, status: int, code: str, title: str, detail: str = "", field: str | None = None) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field


def problem_response(status: int, code: str, title: str, detail: str = "", field: str | None = None,
                     **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail or title}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 422: "invalid_request"}


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(error.status, error.code, error.title, error.detail, error.field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(error.status_code, "error")
        title = code.replace("_", " ")
        response = problem_response(error.status_code, code, title, str(error.detail))
        if error.headers:
            response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # Field and reason only: the offending value may be an identity number.
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid"}
        location = [str(part) for part in first["loc"] if part not in ("body", "query", "path", "header")]
        field = ".".join(location) or None
        return problem_response(422, "invalid_request", "invalid request", f"{field or 'request'}: {first['msg']}",
                                field, errors=[{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                                               for e in error.errors()])
