"""Request dependencies: the context, the caller (principal), role checks, rate limiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from services.api.accounts import version_of
from services.api.context import ApiContext
from services.api.problems import Problem
from services.api.replica_http import request_context
from services.api.security import InvalidTokenError, Principal, Role, decode_token
from services.api.users import current_token_version, principal_for_api_key

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/token")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A machine client's API key (emk_...)"
)
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="energymon"'}


# The dependencies are coroutines: FastAPI runs a plain function dependency in the thread pool,
# one hand-off per dependency per request; these do no blocking work (the API-key lookup, which
# queries the database, goes to the pool itself).


async def context(request: Request) -> ApiContext:
    return request_context(request)


Ctx = Annotated[ApiContext, Depends(context)]


async def principal(
    ctx: Ctx,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    who: Principal | None = None
    if bearer is not None:
        try:
            who = decode_token(bearer.credentials, ctx.config.api)
        except InvalidTokenError as err:
            raise Problem(401, f"invalid token: {err}", headers=_UNAUTHORIZED) from err

        # a signed token outlives its account's deactivation unless checked on every request
        account = who.user_id
        version = await version_of(
            ctx.accounts, account, lambda: current_token_version(ctx.primary_reads, account)
        )
        if version != who.token_version:
            raise Problem(401, "invalid token: the account is deactivated", headers=_UNAUTHORIZED)
    elif api_key is not None:

        def lookup(key: str) -> Principal | None:
            with ctx.engine.connect() as conn:
                return principal_for_api_key(conn, key)

        who = await run_in_threadpool(lookup, api_key)
        if who is None:
            raise Problem(401, "invalid API key", headers=_UNAUTHORIZED)
    if who is None:
        raise Problem(401, "authentication required", headers=_UNAUTHORIZED)
    wait = ctx.limiter.take(f"user:{who.user_id}")
    if wait > 0:
        raise Problem(
            429,
            "rate limit exceeded for this credential",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    return who


Caller = Annotated[Principal, Depends(principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(who: Caller) -> Principal:
        if who.role not in roles:
            raise Problem(403, f"the {who.role} role may not do this")
        return who

    return check


Reader = Annotated[Principal, Depends(require(Role.ADMIN, Role.OFFICER, Role.ENTERPRISE))]
Officer = Annotated[Principal, Depends(require(Role.ADMIN, Role.OFFICER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Gateway = Annotated[Principal, Depends(require(Role.GATEWAY))]


def local_times(values: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """``values`` with every timestamp in the configured zone: the API answers in one offset
    (storage stays UTC; the instant is the same)."""
    return {k: v.astimezone(zone) if isinstance(v, datetime) else v for k, v in values.items()}
