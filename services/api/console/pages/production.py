"""An enterprise's production figures in the console: the figures of the last twelve months with
their revisions, the history of changes, and the month locks; officers lock and unlock a month
with a reason (htmx POST with the CSRF token). The same store functions as the JSON API's
production routes (services/api/routes/production.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from sqlalchemy import Connection

from services.api.console.access import ConsoleCtx, OfficerUser, enterprise_or_404, own_code
from services.api.console.energy_tables import Gettext
from services.api.console.pages.enterprise_tables import about
from services.api.console.pages.intensity import MONTH
from services.api.console.session import check_csrf
from services.api.console.tables import TIME_FORMAT, Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render
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


def production_tables(
    ent: Enterprise, section: dict[str, Any], _: Gettext, zone: ZoneInfo
) -> list[Table]:
    """The month locks, the figures as last entered and the history of changes."""
    page = f"/console/enterprises/{ent.code}"
    filters = (about(ent, _), (_("Window"), _("the last twelve months")))
    locks = [
        Row(
            (m.strftime("%Y-%m"), _lock_text(locks_of.get(m), _, zone)),
            attrs={"data-month": m.strftime("%Y-%m"), "class": "locked" if m in locks_of else ""},
        )
        for locks_of in (section["locks"],)
        for m in section["lock_months"]
    ]
    entries = [
        (
            e.period_start.strftime("%Y-%m") if e.period == "month" else e.period_start.isoformat(),
            e.product or "",
            _(e.kind),
            e.value,
            e.unit,
            e.price_base_year,
            e.revision,
            e.entered_by,
            e.entered_at,
        )
        for e in section["entries"]
    ]
    history = [
        (
            c.changed_at,
            c.changed_by,
            _(c.action),
            c.month.strftime("%Y-%m"),
            c.product or (_(c.kind) if c.kind else ""),
            c.old_value,
            c.new_value,
            c.unit or "",
            c.reason or "",
        )
        for c in section["history"]
    ]
    number = Kind.NUMBER
    return [
        table(
            "month-locks",
            _("Month locks"),
            (Column(_("Month")), Column(_("Lock"))),
            locks,
            filters=filters,
            page=page,
        ),
        table(
            "production-entries",
            _("Production figures"),
            (
                Column(_("Period")),
                Column(_("Product")),
                Column(_("Figure")),
                Column(_("Value"), kind=number, places=2),
                Column(_("Unit")),
                Column(_("Price base year"), kind=Kind.INTEGER),
                Column(_("Revision"), kind=Kind.INTEGER),
                Column(_("Entered by")),
                Column(_("Entered at"), kind=Kind.TIME),
            ),
            entries,
            filters=filters,
            page=page,
        ),
        table(
            "production-history",
            _("History of changes"),
            (
                Column(_("When"), kind=Kind.TIME),
                Column(_("Who")),
                Column(_("Action")),
                Column(_("Month")),
                Column(_("Product")),
                Column(_("Old value"), kind=number, places=2),
                Column(_("New value"), kind=number, places=2),
                Column(_("Unit")),
                Column(_("Reason")),
            ),
            history,
            filters=filters,
            page=page,
        ),
    ]


def _lock_text(lock: store.Lock | None, _: Gettext, zone: ZoneInfo) -> str:
    if lock is None:
        return _("open for corrections")
    at = lock.locked_at.astimezone(zone).strftime(TIME_FORMAT)
    text = _("locked by %(who)s at %(at)s") % {"who": lock.locked_by, "at": at}
    return f"{text}: {lock.reason}" if lock.reason else text


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
        tables=production_tables(ent, section, gettext_for(request), ctx.config.common.zone),
        **section,
    )
