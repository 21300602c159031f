"""Who is at the console: the session's user (or a redirect to the login form), and what that
user may see — the same tenancy as the JSON API (services/api/tenancy.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from services.api.accounts import version_of
from services.api.console.session import LoginRequiredError, session_principal
from services.api.context import ApiContext
from services.api.problems import Problem
from services.api.replica_http import request_context
from services.api.security import Principal, Role
from services.api.tenancy import visible_enterprise
from services.api.users import current_token_version
from services.core.store import registry
from services.core.store.registry import Enterprise


class PageNotFoundError(Exception):
    """A page that does not exist for this user (another tenant's is one): answered 404."""


class ForbiddenError(Exception):
    """An action the user's role may not take: answered 403."""


async def console_context(request: Request) -> ApiContext:
    return request_context(request)


async def console_user(request: Request) -> Principal:
    ctx: ApiContext = request.app.state.ctx
    who = session_principal(ctx, request)
    if who is not None:
        account = who.user_id
        version = await version_of(
            ctx.accounts, account, lambda: current_token_version(ctx.primary_reads, account)
        )
        if version != who.token_version:
            who = None  # the account was deactivated after this session began
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(target)
    if ctx.limiter.take(f"user:{who.user_id}") > 0:
        raise Problem(429, "rate limit exceeded for this account", headers={"Retry-After": "1"})
    return who


async def console_officer(who: Annotated[Principal, Depends(console_user)]) -> Principal:
    if who.role not in (Role.ADMIN, Role.OFFICER):
        raise ForbiddenError
    return who


ConsoleCtx = Annotated[ApiContext, Depends(console_context)]
User = Annotated[Principal, Depends(console_user)]
OfficerUser = Annotated[Principal, Depends(console_officer)]


def own_code(conn: Connection, who: Principal) -> str | None:
    """An enterprise account's enterprise code (None for officers and admins)."""
    if who.sees_everything or who.enterprise_id is None:
        return None
    return registry.enterprise_code(conn, enterprise_id=who.enterprise_id)


def enterprise_or_404(conn: Connection, who: Principal, code: str) -> Enterprise:
    try:
        return visible_enterprise(conn, who, code)
    except Problem as err:
        raise PageNotFoundError from err
