"""An enterprise's production figures in the console: the figures of the last twelve months with
their revisions, the history of changes, and the month locks; officers lock and unlock a month
with a reason (htmx POST with the CSRF token). The same store functions as the JSON API's
production routes (services/api/routes/production.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from sqlalchemy import Connection

from services.api.console.access import ConsoleCtx, OfficerUser, enterprise_or_404, own_code
from services.api.console.pages.intensity import MONTH
from services.api.console.session import check_csrf
from services.api.console.views import render
from services.core.domain.production import next_month
from services.core.store import production as store
from services.core.store.registry import Enterprise

router = APIRouter(prefix="/console", include_in_schema=False)
MONTHS_SHOWN = 12


def first_shown(today: date) -> date:
    """The first month of the section: eleven months before this one."""
    index = today.year * 12 + today.month - 1 - (MONTHS_SHOWN - 1)
    return date(index // 12, index % 12 + 1, 1)


def production_section(conn: Connection, ent: Enterprise, today: date) -> dict[str, Any]:
    """What ``_production.html`` shows: figures, history and locks of the months shown, and the
    months an officer may lock or unlock (those with figures, this month and the last)."""
    start, end = first_shown(today), next_month(date(today.year, today.month, 1))
    entries = store.entries(conn, enterprise_id=ent.id, start=start, end=end)
    locks = {lk.month: lk for lk in store.locks_of(conn, enterprise_id=ent.id)}
    history = store.history(conn, enterprise_id=ent.id, start=start, end=end)
    months = sorted(
        {date(e.period_start.year, e.period_start.month, 1) for e in entries}
        | {m for m in locks if start <= m < end},
        reverse=True,
    )
    return {
        "entries": entries,
        "locks": locks,
        "history": list(reversed(history)),
        "lock_months": months,
    }


@router.post(
    "/enterprises/{code}/production/locks/{month}",
    dependencies=[Depends(check_csrf)],
)
def lock(
    ctx: ConsoleCtx,
    request: Request,
    who: OfficerUser,
    code: str,
    month: Annotated[str, Path(pattern=MONTH)],
    action: Annotated[str, Form(pattern="^(lock|unlock)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Lock or unlock ``month``; answers the production section again, a refusal (no reason,
    locked already, not locked) shown in it (200: htmx swaps only successful answers)."""
    start = date.fromisoformat(f"{month}-01")
    today = datetime.now(UTC).astimezone(ctx.config.common.zone).date()
    error, detail = None, ""
    with ctx.engine.begin() as conn:
        own = own_code(conn, who)
        ent = enterprise_or_404(conn, who, code)
        if not reason.strip():
            error = "reason_required"
        else:
            change = store.lock_month if action == "lock" else store.unlock_month
            try:
                change(
                    conn,
                    enterprise_id=ent.id,
                    month=start,
                    by=who.username,
                    reason=reason.strip(),
                    now=datetime.now(UTC),
                )
            except store.LockStateError as err:
                error, detail = "lock_state", str(err)
        section = production_section(conn, ent, today)
    return render(
        ctx,
        request,
        "_production.html",
        who=who,
        own=own,
        ent=ent,
        error=error,
        detail=detail,
        **section,
    )
