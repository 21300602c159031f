"""An enterprise's consumption of one carrier at the resolution the user picks, from 15 minutes
(the last 24 hours) to years (the last five), in the carrier's unit with each period's data
completeness: the enterprise page's consumption section, swapped in place by htmx."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from services.api.console import charts
from services.api.console.access import ConsoleCtx, User, enterprise_or_404
from services.api.console.energy_tables import Gettext
from services.api.console.pages.enterprise_tables import about
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render
from services.core.store import registry
from services.core.store.consumption import PeriodConsumption, consumption
from services.core.store.registry import Enterprise, Meter
from services.core.store.rollups import midnight
from services.core.store.scope import Scope

router = APIRouter(prefix="/console", include_in_schema=False)

RESOLUTIONS = ("15m", "1h", "1d", "1mo", "1y")
Resolution = Annotated[str, Query(pattern="^(15m|1h|1d|1mo|1y)$")]
Carrier = Annotated[str | None, Query(max_length=40)]


@dataclass(frozen=True, slots=True)
class Series:
    """What the section shows: the choices, the window and its periods."""

    carriers: list[str]
    carrier: str | None
    resolution: str
    start: datetime
    end: datetime
    unit: str
    rows: list[PeriodConsumption]
    chart: dict[str, object] | None


def window(resolution: str, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the periods shown at ``resolution``, ending with the one holding ``now``:
    96 quarter hours, 168 hours, 30 local days, 12 local months or 5 local years."""
    local = now.astimezone(zone)
    if resolution == "15m":
        end = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        end += timedelta(minutes=15)
        return end - timedelta(hours=24), end
    if resolution == "1h":
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return end - timedelta(days=7), end
    today = local.date()
    if resolution == "1d":
        return midnight(today - timedelta(days=29), zone), midnight(today + timedelta(1), zone)
    if resolution == "1mo":
        months = today.year * 12 + today.month - 1
        first = date((months - 11) // 12, (months - 11) % 12 + 1, 1)
        after = date((months + 1) // 12, (months + 1) % 12 + 1, 1)
        return midnight(first, zone), midnight(after, zone)
    return midnight(date(today.year - 4, 1, 1), zone), midnight(date(today.year + 1, 1, 1), zone)


def label(period: datetime, resolution: str) -> str:
    """A period's start as people write it at that resolution (local time)."""
    formats = {"15m": "%m-%d %H:%M", "1h": "%m-%d %H:00", "1d": "%Y-%m-%d", "1mo": "%Y-%m"}
    return period.strftime(formats.get(resolution, "%Y"))


def carriers_of(meters: Sequence[Meter]) -> list[str]:
    """The carriers of the active meters, electricity first."""
    found = {m.carrier for m in meters if m.active}
    return sorted(found, key=lambda c: (c != "electricity", c))


def series(
    conn: Connection,
    ent: Enterprise,
    meters: Sequence[Meter],
    carrier: str | None,
    resolution: str,
    zone: ZoneInfo,
) -> Series:
    """The enterprise's (its ``meters``) boundary consumption of ``carrier`` (default: its first
    carrier) per period until now; an unknown carrier falls back to the default rather than
    showing nothing."""
    now, code = datetime.now(UTC), ent.code
    choices = carriers_of(meters)
    chosen = carrier if carrier in choices else (choices[0] if choices else None)
    start, end = window(resolution, now, zone)
    rows: list[PeriodConsumption] = []
    if chosen is not None:
        scope = Scope(enterprise=code)
        every = consumption(
            conn, start=start, end=end, interval=resolution, zone=zone, scope=scope, now=now
        )
        rows = [r for r in every if r.carrier == chosen]
    unit = rows[0].unit if rows else ""
    chart = None
    if rows:
        chart = charts.bars(
            [label(r.period, resolution) for r in rows],
            [round(r.amount, 3) for r in rows],
            unit,
            chosen or "",
        )
    return Series(choices, chosen, resolution, start, end, unit, rows, chart)


RESOLUTION_NAMES = {
    "15m": "15 minutes, last 24 hours",
    "1h": "hours, last 7 days",
    "1d": "days, last 30 days",
    "1mo": "months, last 12 months",
    "1y": "years, last 5 years",
}


def series_table(ent: Enterprise, s: Series, threshold: float, _: Gettext) -> Table:
    """The section's figures: each period's amount, completeness and whether it is estimated."""
    rows = [
        Row(
            (
                label(r.period, s.resolution),
                r.amount,
                r.completeness,
                _("yes") if r.estimated else "",
            ),
            attrs={"class": "low"} if r.completeness < threshold else {},
        )
        for r in s.rows
    ]
    return table(
        "consumption-figures",
        _("Consumption"),
        (
            Column(_("Period")),
            Column(_("Amount"), s.unit, Kind.NUMBER, 3),
            Column(_("Completeness"), kind=Kind.SHARE),
            Column(_("Estimated")),
        ),
        rows,
        filters=(
            about(ent, _),
            (_("Carrier"), _(s.carrier) if s.carrier else ""),
            (_("Resolution"), _(RESOLUTION_NAMES[s.resolution])),
        ),
    )


@router.get("/enterprises/{code}/consumption")
def consumption_section(
    ctx: ConsoleCtx,
    request: Request,
    who: User,
    code: str,
    resolution: Resolution = "1d",
    carrier: Carrier = None,
) -> Response:
    """The section alone (what htmx swaps in); tenancy as the enterprise page (404)."""
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        ent = enterprise_or_404(conn, who, code)
        meters = registry.meters_of(conn, enterprise_id=ent.id)
        found = series(conn, ent, meters, carrier, resolution, zone)
    _ = gettext_for(request)
    return render(
        ctx,
        request,
        "_consumption.html",
        ent=ent,
        series=found,
        tables=[series_table(ent, found, ctx.config.common.min_completeness, _)],
    )
