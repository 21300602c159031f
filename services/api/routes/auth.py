"""OAuth2 token endpoint: password grant (people) and client credentials (machines)."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from services.api.deps import Caller, Ctx
from services.api.models.auth import MeOut, TokenOut
from services.api.models.common import STANDARD_PROBLEMS
from services.api.problems import Problem
from services.api.render import model_response
from services.api.security import issue_token
from services.api.throttle import Throttled, address_key
from services.api.users import authenticate
from services.core.logging import get_logger
from services.core.store import registry

log = get_logger(__name__)
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
    attempt = ctx.logins.begin(user, host, time.monotonic())
    if isinstance(attempt, Throttled):
        ctx.metrics.logins_throttled.labels(attempt.limit).inc()
        raise _throttled(attempt)
    try:
        with ctx.reads.connect() as conn:
            who = authenticate(conn, user, secret)
    except BaseException:
        ctx.logins.abandoned(attempt)
        raise
    if who is None:
        for reached in ctx.logins.failed(attempt, time.monotonic()):
            log.warning(
                "login throttled",
                limit=reached.limit,
                username=_printable(user),
                client=address_key(host),
                retry_after_s=math.ceil(reached.retry_after_s),
            )
        raise Problem(
            401,
            "invalid credentials",
            kind="invalid-grant",
            headers={"WWW-Authenticate": 'Bearer realm="energymon"'},
        )
    ctx.logins.succeeded(attempt)
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


def _printable(text: str) -> str:
    """A caller-chosen name as one log field: no control characters, at most 64 characters."""
    return "".join(c if c.isprintable() else "?" for c in text[:64])


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
