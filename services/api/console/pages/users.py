"""Admin: the accounts (username, role, enterprise or gateway) and API keys; create, deactivate
and reactivate an account, issue a key (shown once) and revoke one. The same functions as
``energymon users`` (services/api/users.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, Response

from services.api.console.access import ConsoleCtx
from services.api.console.pages.admin import AdminUser
from services.api.console.session import check_csrf
from services.api.console.tables import Column, Kind, Row, table
from services.api.console.views import gettext_for, render
from services.api.context import ApiContext
from services.api.security import Principal, Role
from services.api.users import (
    AccountError,
    create_api_key,
    create_user,
    revoke_api_key,
    set_account_active,
)
from services.core.store.users import key_listing, user_listing

router = APIRouter(prefix="/console", include_in_schema=False)
ROLES = tuple(r.value for r in Role)


@router.get("/admin/users")
def accounts(ctx: ConsoleCtx, request: Request, who: AdminUser) -> Response:
    return _page(ctx, request, who)


@router.post("/admin/users", dependencies=[Depends(check_csrf)])
def create(
    ctx: ConsoleCtx,
    request: Request,
    who: AdminUser,
    username: Annotated[str, Form(min_length=1, max_length=128)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form(pattern="^(admin|officer|enterprise|gateway)$")],
    enterprise: Annotated[str, Form(max_length=64)] = "",
    gateway: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Create an account; a refusal (short password, unknown enterprise, taken name) keeps the
    form's other fields and answers 422."""
    try:
        with ctx.engine.begin() as conn:
            create_user(
                conn,
                username=username.strip(),
                password=password,
                role=Role(role),
                enterprise_code=enterprise.strip() or None,
                gateway_code=gateway.strip() or None,
            )
    except AccountError as err:
        form = {"username": username, "role": role, "enterprise": enterprise, "gateway": gateway}
        return _page(ctx, request, who, status_code=422, error=str(err), form=form)
    return _page(ctx, request, who, created=username.strip())


Username = Annotated[str, Path(min_length=1, max_length=128)]


@router.post("/admin/users/{username}/keys", dependencies=[Depends(check_csrf)])
def issue_key(
    ctx: ConsoleCtx,
    request: Request,
    who: AdminUser,
    username: Username,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Issue an API key: the answer is the only place the whole key ever appears (the page is
    not stored by the browser or a proxy); afterwards only its prefix is listed."""
    try:
        with ctx.engine.begin() as conn:
            key = create_api_key(conn, username, name.strip(), by=who.username)
    except AccountError as err:
        return _page(ctx, request, who, status_code=422, error=str(err))
    return render(
        ctx,
        request,
        "admin_key_issued.html",
        who=who,
        key=key,
        prefix=key.split("_", 2)[1],
        username=username,
        name=name.strip(),
    )


@router.post("/admin/users/{username}/deactivate", dependencies=[Depends(check_csrf)])
def deactivate(ctx: ConsoleCtx, request: Request, who: AdminUser, username: Username) -> Response:
    return _set_active(ctx, request, who, username, active=False)


@router.post("/admin/users/{username}/activate", dependencies=[Depends(check_csrf)])
def activate(ctx: ConsoleCtx, request: Request, who: AdminUser, username: Username) -> Response:
    return _set_active(ctx, request, who, username, active=True)


def _set_active(
    ctx: ApiContext, request: Request, who: Principal, username: str, *, active: bool
) -> Response:
    """Refusals (oneself, the last admin, no such account) answer 409 and change nothing."""
    try:
        with ctx.engine.begin() as conn:
            set_account_active(conn, username, active=active, by=who.username)
        ctx.accounts.forget()  # this process at once; the others when PostgreSQL notifies them
    except AccountError as err:
        return _page(ctx, request, who, status_code=409, error=str(err))
    if active:
        return _page(ctx, request, who, activated=username)
    return _page(ctx, request, who, deactivated=username)


@router.post("/admin/keys/{prefix}/revoke", dependencies=[Depends(check_csrf)])
def revoke(
    ctx: ConsoleCtx,
    request: Request,
    who: AdminUser,
    prefix: Annotated[str, Path(max_length=16)],
) -> Response:
    with ctx.engine.begin() as conn:
        revoked = revoke_api_key(conn, prefix)
    if not revoked:
        error = f"no unrevoked API key {prefix}"
        return _page(ctx, request, who, status_code=404, error=error)
    return _page(ctx, request, who, revoked=prefix)


def _page(
    ctx: ApiContext,
    request: Request,
    who: Principal,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    created: str | None = None,
    revoked: str | None = None,
    activated: str | None = None,
    deactivated: str | None = None,
) -> Response:
    with ctx.reads.connect() as conn:
        users = user_listing(conn)
        keys = key_listing(conn)
    _ = gettext_for(request)
    created_at = Column(_("Created"), kind=Kind.TIME)
    tables = [
        table(
            "user-list",
            _("Accounts"),
            (
                Column(_("Username")),
                Column(_("Role")),
                Column(_("Enterprise")),
                Column(_("Gateway")),
                Column(_("Status")),
                created_at,
            ),
            [
                Row(
                    (
                        u.username,
                        _(u.role),
                        u.enterprise or "",
                        u.gateway or "",
                        _("active") if u.active else _("inactive"),
                        u.created_at,
                    ),
                    attrs={"data-user": u.username, "data-active": "yes" if u.active else "no"},
                )
                for u in users
            ],
        ),
        table(
            "key-list",
            _("API keys"),
            (
                Column(_("Prefix")),
                Column(_("Name")),
                Column(_("Username")),
                created_at,
                Column(_("Issued by")),
                Column(_("Revoked"), kind=Kind.TIME),
            ),
            [
                Row(
                    (
                        k.prefix,
                        k.name or "",
                        k.username,
                        k.created_at,
                        k.issued_by or _("command line"),
                        k.revoked_at,
                    ),
                    attrs={"data-key": k.prefix},
                )
                for k in keys
            ],
        ),
    ]
    return render(
        ctx,
        request,
        "admin_users.html",
        tables=tables,
        status_code=status_code,
        who=who,
        users=users,
        keys=keys,
        roles=ROLES,
        error=error,
        form=form or {},
        created=created,
        revoked=revoked,
        activated=activated,
        deactivated=deactivated,
    )
