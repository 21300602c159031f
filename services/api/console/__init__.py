"""The officer console: server-rendered pages under ``/console/`` (docs/console.md).

Jinja2 templates, htmx for partial updates and ECharts for charts, both served from the
committed ``static/vendor/`` (scripts/vendor-console refreshes them). The same accounts and
roles as the JSON API, with a session cookie and CSRF protection instead of a bearer token.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from services.api.console.access import ForbiddenError, PageNotFoundError
from services.api.console.pages import (
    admin,
    alerts,
    auth,
    budgets,
    data_centres,
    enterprises,
    intensity,
    meters,
    overview,
    production,
    quality,
    series,
    users,
)
from services.api.console.session import CsrfError, LoginRequiredError
from services.api.console.views import TableNotFoundError, render

STATIC = Path(__file__).parent / "static"
# the vendored libraries change only with a release of this package; an hour keeps a browser
# from asking again on every page without keeping an old stylesheet for long after an upgrade
STATIC_MAX_AGE_S = 3600


class CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_S}"
        return response


def install(app: FastAPI) -> None:
    for module in (
        auth,
        overview,
        data_centres,
        budgets,
        intensity,
        alerts,
        enterprises,
        production,
        series,
        quality,
        meters,
        admin,
        users,
    ):
        app.include_router(module.router)
    app.mount("/console/static", CachedStatic(directory=STATIC), name="console-static")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/console/", status_code=307)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequiredError)
        from urllib.parse import quote

        target = f"/console/login?next={quote(exc.next_path, safe='/')}"
        if request.headers.get("HX-Request") == "true":  # htmx: reload the page to the form
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    def status_page(status: int, message: str) -> object:
        async def handler(request: Request, _exc: Exception) -> Response:
            ctx = request.app.state.ctx
            return render(ctx, request, "error.html", status_code=status, message=message)

        return handler

    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(PageNotFoundError, status_page(404, "not_found"))  # type: ignore[arg-type]
    app.add_exception_handler(TableNotFoundError, status_page(404, "not_found"))  # type: ignore[arg-type]
    app.add_exception_handler(ForbiddenError, status_page(403, "forbidden"))  # type: ignore[arg-type]
    app.add_exception_handler(CsrfError, status_page(403, "csrf"))  # type: ignore[arg-type]
