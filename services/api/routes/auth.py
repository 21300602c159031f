"""OAuth2 token endpoint: password grant (people) and client credentials (machines)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from services.api.deps import Caller, Ctx
from services.api.logins import check_login
from services.api.models.auth import MeOut, TokenOut
from services.api.models.common import STANDARD_PROBLEMS
from services.api.problems import Problem
from services.api.render import model_response
from services.api.security import issue_token
from services.api.throttle import Throttled
from services.core.store import registry

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=STANDARD_PROBLEMS)
_WHOSE = {"username": "for this username", "address": "from this address"}


@router.post("/auth/token", response_model=TokenOut, summary="Issue an access token")
def token(
    ctx: Ctx,
    request: Request,
    grant_type: Annotated[
        str,
        Form(
            pattern="^(password|client_credentials)$",
            description="`password` for people, `client_credentials` for machine clients",
            examples=["password"],
        ),
    ],
    username: Annotated[
        str | None, Form(description="A person's account (password grant)", examples=["castings"])
    ] = None,
    password: Annotated[
        str | None,
        Form(description="That account's password", examples=["correct horse battery staple"]),
    ] = None,
    client_id: Annotated[
        str | None,
        Form(description="A machine account (client credentials)", examples=["castings-gw01"]),
    ] = None,
    client_secret: Annotated[
        str | None,
        Form(description="That account's password", examples=["gateway-secret-from-the-vault"]),
    ] = None,
) -> Response:
    """`password` grant for people (username + password); `client_credentials` for machine
    clients (client_id + client_secret of a service account). Tokens are short-lived JWTs.
    After `ENERGYMON_API_LOGIN_FAILURES_PER_USERNAME` failures for one username, or
    `ENERGYMON_API_LOGIN_FAILURES_PER_ADDRESS` from one address, within
    `ENERGYMON_API_LOGIN_WINDOW_S`, logins answer 429 with `Retry-After`, even with the right
    password; a successful login clears its username's count."""
    user, secret = (username, password) if grant_type == "password" else (client_id, client_secret)
    if not user or not secret:
        raise Problem(400, "credentials missing for this grant type", kind="invalid-request")
    host = request.client.host if request.client else None
    who = check_login(ctx, user, secret, host)
    if isinstance(who, Throttled):
        raise _throttled(who)
    if who is None:
        raise Problem(
            401,
            "invalid credentials",
            kind="invalid-grant",
            headers={"WWW-Authenticate": 'Bearer realm="energymon"'},
        )
    out = TokenOut(
        access_token=issue_token(who, ctx.config.api), expires_in=ctx.config.api.token_ttl_s
    )
    return model_response(TokenOut, out)


def _throttled(refusal: Throttled) -> Problem:
    seconds = max(1, math.ceil(refusal.retry_after_s))
    return Problem(
        429,
        f"too many failed logins {_WHOSE[refusal.limit]}: logins are refused, even with the "
        f"right password, for {seconds} s",
        kind="login-throttled",
        headers={"Retry-After": str(seconds)},
        retry_after_s=seconds,
    )


@router.get("/me", response_model=MeOut, summary="Who am I")
def me(ctx: Ctx, who: Caller) -> Response:
    """The caller's username and role, with the enterprise (enterprise and gateway accounts) and
    the gateway (gateway accounts) the credential is bound to. Any role."""
    ent: str | None = None
    gw: str | None = None
    with ctx.reads.connect() as conn:
        if who.enterprise_id is not None:
            ent = registry.enterprise_code(conn, enterprise_id=who.enterprise_id)
        if who.gateway_id is not None:
            gw = registry.gateway_code(conn, gateway_id=who.gateway_id)
    out = MeOut(username=who.username, role=who.role.value, enterprise=ent, gateway=gw)
    return model_response(MeOut, out)
