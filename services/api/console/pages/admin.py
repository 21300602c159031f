"""Admin: upload a registry (district) file, see it validated — the first problem with its line
— and what applying it would change (rows added, removed and changed, each field old -> new),
then apply it. The same parser, apply path and plan as ``energymon registry load [--dry-run]``
and ``POST /api/v1/registry/apply``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile
from sqlalchemy import Connection

from services.api.console.access import ConsoleCtx, ForbiddenError, User
from services.api.console.session import check_csrf
from services.api.console.views import render
from services.api.context import ApiContext
from services.api.security import Principal, Role
from services.core.errors import RegistryError
from services.core.registry.diff import RowChange
from services.core.registry.plan import plan_district
from services.core.registry.spec import parse_district
from services.core.registry.store import ApplyReport

router = APIRouter(prefix="/console", include_in_schema=False)
# a whole new district adds tens of thousands of rows: the page lists the first ones
MAX_ROWS_SHOWN = 500


async def console_admin(who: User) -> Principal:
    if who.role is not Role.ADMIN:
        raise ForbiddenError
    return who


AdminUser = Annotated[Principal, Depends(console_admin)]


@router.get("/admin/registry")
def registry_form(ctx: ConsoleCtx, request: Request, who: AdminUser) -> Response:
    return render(ctx, request, "admin_registry.html", who=who, step="upload")


@router.post("/admin/registry/check", dependencies=[Depends(check_csrf)])
async def check(ctx: ConsoleCtx, request: Request, who: AdminUser, file: UploadFile) -> Response:
    """Validate the file and apply it in a transaction that is rolled back: what would change."""
    text = (await file.read()).decode("utf-8", errors="replace")
    return _outcome(ctx, request, who, text, name=file.filename or "", apply=False)


@router.post("/admin/registry/apply", dependencies=[Depends(check_csrf)])
def apply(
    ctx: ConsoleCtx,
    request: Request,
    who: AdminUser,
    document: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    return _outcome(ctx, request, who, document, name=name, apply=True)


def _outcome(
    ctx: ApiContext, request: Request, who: Principal, text: str, *, name: str, apply: bool
) -> Response:
    try:
        spec = parse_district(text)
    except RegistryError as err:
        return render(
            ctx,
            request,
            "admin_registry.html",
            status_code=422,
            who=who,
            step="invalid",
            name=name,
            error=err,
        )
    with _transaction(ctx, commit=apply) as conn:
        plan = plan_district(conn, spec)
    return render(
        ctx,
        request,
        "admin_registry.html",
        who=who,
        step="applied" if apply else "checked",
        name=name,
        document=text,
        enterprises=[e.code for e in spec.enterprises],
        changes=_changes(plan.report),
        changed=plan.report.changed,
        diff=plan.changes[:MAX_ROWS_SHOWN],
        diff_total=len(plan.changes),
        diff_counts=_diff_counts(plan.changes),
    )


@contextmanager
def _transaction(ctx: ApiContext, *, commit: bool) -> Iterator[Connection]:
    """A write transaction, committed or (a dry run) rolled back."""
    with ctx.engine.connect() as conn:
        tx = conn.begin()
        try:
            yield conn
        except BaseException:
            tx.rollback()
            raise
        if commit:
            tx.commit()
        else:
            tx.rollback()


def _changes(report: ApplyReport) -> list[tuple[str, str, int]]:
    return [(table, outcome, n) for (table, outcome), n in sorted(report.counts.items()) if n]


def _diff_counts(changes: list[RowChange]) -> list[tuple[str, str, int]]:
    counts: dict[tuple[str, str], int] = {}
    for c in changes:
        counts[(c.table, c.action)] = counts.get((c.table, c.action), 0) + 1
    return [(table, action, n) for (table, action), n in counts.items()]
