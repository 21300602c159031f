"""Login, logout and the language switch."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from services.api.console.access import ConsoleCtx, User
from services.api.console.i18n import LANG_COOKIE, LANGUAGES
from services.api.console.session import (
    CONSOLE_ROLES,
    CookiePolicy,
    check_csrf,
    end_session,
    start_session,
)
from services.api.console.views import render
from services.api.logins import check_login
from services.api.throttle import Throttled

router = APIRouter(prefix="/console", include_in_schema=False)
HOME = "/console/"


def safe_next(target: str | None) -> str:
    """Only a console page of this site: never another origin (``//host``, ``/\\host``)."""
    if not target or not target.startswith("/console/") or "\\" in target or "//" in target:
        return HOME
    return target


@router.get("/login")
def login_form(ctx: ConsoleCtx, request: Request, next: str | None = None) -> Response:
    return render(ctx, request, "login.html", next=safe_next(next), error=None)


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    ctx: ConsoleCtx,
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    host = request.client.host if request.client else None
    who = check_login(ctx, username, password, host)
    error: tuple[str, int] | None = None
    status = 401
    if isinstance(who, Throttled):
        error, status = ("throttled", max(1, math.ceil(who.retry_after_s))), 429
    elif who is None:
        error = ("invalid", 0)
    elif who.role not in CONSOLE_ROLES:
        error, status = ("role", 0), 403
    if error is not None or who is None or isinstance(who, Throttled):
        return render(
            ctx, request, "login.html", status_code=status, next=safe_next(next), error=error
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(ctx, response, who)
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(ctx: ConsoleCtx, who: User) -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    end_session(ctx, response)
    return response


@router.get("/lang/{lang}")
def switch_language(ctx: ConsoleCtx, lang: str, next: str | None = None) -> Response:
    """Keep the chosen language for a year (a preference, not a session)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            path="/console",
            secure=CookiePolicy.of(ctx).secure,
            httponly=True,
            samesite="lax",
        )
    return response
