"""OAuth2 token endpoint: password grant (people) and client credentials (machines)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from sqlalchemy import select

from services.api.deps import Caller, Ctx
from services.api.models import STANDARD_PROBLEMS, MeOut, TokenOut
from services.api.problems import Problem
from services.api.security import issue_token
from services.api.users import authenticate
from services.core.schema.tables import enterprises, gateways

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=STANDARD_PROBLEMS)


@router.post("/auth/token", response_model=TokenOut, summary="Issue an access token")
def token(
    ctx: Ctx,
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
) -> TokenOut:
    """`password` grant for people (username + password); `client_credentials` for machine
    clients (client_id + client_secret of a service account). Tokens are short-lived JWTs."""
    user, secret = (username, password) if grant_type == "password" else (client_id, client_secret)
    if not user or not secret:
        raise Problem(400, "credentials missing for this grant type", kind="invalid-request")
    with ctx.reads.connect() as conn:
        who = authenticate(conn, user, secret)
    if who is None:
        raise Problem(
            401,
            "invalid credentials",
            kind="invalid-grant",
            headers={"WWW-Authenticate": 'Bearer realm="energymon"'},
        )
    return TokenOut(
        access_token=issue_token(who, ctx.config.api), expires_in=ctx.config.api.token_ttl_s
    )


@router.get("/me", response_model=MeOut, summary="Who am I")
def me(ctx: Ctx, who: Caller) -> MeOut:
    """The caller's username and role, with the enterprise (enterprise and gateway accounts) and
    the gateway (gateway accounts) the credential is bound to. Any role."""
    ent = gw = None
    with ctx.reads.connect() as conn:
        if who.enterprise_id is not None:
            ent = conn.execute(
                select(enterprises.c.code).where(enterprises.c.id == who.enterprise_id)
            ).scalar()
        if who.gateway_id is not None:
            gw = conn.execute(
                select(gateways.c.code).where(gateways.c.id == who.gateway_id)
            ).scalar()
    return MeOut(username=who.username, role=who.role.value, enterprise=ent, gateway=gw)
