"""Errors as RFC 9457 problem details (``application/problem+json``) with stable ``type`` URIs."""

from __future__ import annotations

from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core.domain.coefficients import NoFactorError
from services.core.logging import get_logger

log = get_logger(__name__)
PROBLEM_BASE = "https://energymon.dev/problems/"
_TITLES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


class Problem(Exception):  # noqa: N818 - it is the problem document, raised
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.kind = kind or _TITLES.get(status, "error")
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    status: int,
    kind: str,
    detail: str,
    instance: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + kind,
        "title": kind.replace("-", " "),
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.kind, exc.detail, request.url.path, exc.headers, **exc.extra
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _TITLES.get(exc.status_code, "error")
        return problem_response(
            exc.status_code, kind, str(exc.detail), request.url.path, dict(exc.headers or {})
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem_response(
            422, "validation-error", "the request is not valid", request.url.path, errors=errors
        )

    @app.exception_handler(NoFactorError)
    async def _no_factor(request: Request, exc: NoFactorError) -> JSONResponse:
        # a period before (or after) every coefficient the platform knows: nothing to compute
        return problem_response(422, "no-coefficient", str(exc), request.url.path)

    @app.exception_handler(psycopg.DataError)
    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _data(request: Request, exc: Exception) -> JSONResponse:
        detail = str(getattr(exc, "orig", exc)).splitlines()[0]
        return problem_response(
            400, "invalid-parameter", f"a value is not acceptable: {detail}", request.url.path
        )

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def _database(request: Request, exc: sqlalchemy.exc.DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:  # any other database error is unexpected
            return await _unexpected(request, exc)
        # the pool has replaced its connections (services/core/db.py): asking again will do
        log.warning(
            "database connection lost during a request", path=request.url.path, error=str(exc.orig)
        )
        return problem_response(
            503,
            "unavailable",
            "the database connection was lost; ask again",
            request.url.path,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            500, "internal-error", "an internal error occurred", request.url.path
        )
