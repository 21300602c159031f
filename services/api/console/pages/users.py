"""Admin: the accounts (username, role, enterprise or gateway) and API keys; create an account,
revoke a key. The same functions as ``energymon users`` (services/api/users.py)."""

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
from services.api.users import AccountError, create_user, revoke_api_key
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
                    attrs={"data-user": u.username},
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
                Column(_("Revoked"), kind=Kind.TIME),
            ),
            [
                Row(
                    (k.prefix, k.name or "", k.username, k.created_at, k.revoked_at),
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
    )
