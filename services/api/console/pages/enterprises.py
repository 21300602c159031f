"""Enterprises: the list (officers) and one enterprise's page — sites and meters with their
status, daily consumption in tce, tce and CO2 by carrier with the factors' sources, PUE,
budgets, data completeness — and its monthly report as the JSON API gives it (XLSX, CSV)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from services.api.console import charts
from services.api.console.access import ConsoleCtx, User, enterprise_or_404, own_code
from services.api.console.energy_tables import completeness, daily_energy
from services.api.console.pages.demand import demand_section, demand_table
from services.api.console.pages.enterprise_tables import (
    carrier_table,
    intensity_tables,
    meter_tables,
)
from services.api.console.pages.intensity import MONTH, year_month
from services.api.console.pages.overview import TREND_DAYS, Energy
from services.api.console.pages.production import production_section, production_tables
from services.api.console.pages.quality import enterprise_summary
from services.api.console.pages.quality import enterprise_tables as quality_tables
from services.api.console.pages.series import Carrier, Resolution, series, series_table
from services.api.console.tables import Column, Row, table
from services.api.console.views import gettext_for, render, wording_for
from services.api.intensity_out import enterprise_out
from services.api.routes.budgets import budget_snapshot
from services.api.routes.intensity import intensity_snapshot, intensity_window
from services.api.routes.pue import ranking_snapshot
from services.api.routes.reports import enterprise_monthly
from services.core.domain.pue import Window, window_bounds
from services.core.factors import default_factors
from services.core.store import registry
from services.core.store.connectivity import MeterLastReading, last_readings
from services.core.store.consumption import consumption, totals, totals_by_period
from services.core.store.rollups import midnight
from services.core.store.scope import Scope

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/enterprises")
def enterprises(
    ctx: ConsoleCtx,
    request: Request,
    who: User,
    town: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
        if own is not None or not who.sees_everything:
            return RedirectResponse(f"/console/enterprises/{own}", status_code=303)
        rows = registry.enterprises_page(conn, limit=1_000_000, town=town or None)
    _ = gettext_for(request)
    listing = table(
        "enterprise-list",
        _("Enterprises"),
        (Column(_("Name")), Column(_("Credit code")), Column(_("Town")), Column(_("Industry"))),
        [
            Row(
                (e.name, e.code, e.town or "", e.industry or ""),
                links={0: f"/console/enterprises/{e.code}"},
                attrs={"class": "" if e.active else "inactive"},
            )
            for e in rows
        ],
        filters=((_("Town"), town or _("any")),),
    )
    return render(ctx, request, "enterprises.html", who=who, own=own, town=town, tables=[listing])


@router.get("/enterprises/{code}")
def enterprise(
    ctx: ConsoleCtx,
    request: Request,
    who: User,
    code: str,
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
    resolution: Resolution = "1d",
    carrier: Carrier = None,
) -> Response:
    """``month`` (YYYY-MM): the intensity section's month, by default the last complete one;
    ``resolution`` and ``carrier``: the consumption section's (what htmx swaps in place)."""
    zone = ctx.config.common.zone
    now = datetime.now(UTC)
    scope = Scope(enterprise=code)
    factors = default_factors()
    year_start, _ = window_bounds(Window.YEAR_TO_DATE, now, zone)
    month_start, _ = window_bounds(Window.MONTH_TO_DATE, now, zone)
    first = midnight(now.astimezone(zone).date() - timedelta(days=TREND_DAYS - 1), zone)
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
        ent = enterprise_or_404(conn, who, code)
        sites = registry.sites_of(conn, enterprise_id=ent.id)
        meters = registry.meters_of(conn, enterprise_id=ent.id)
        last = {m.meter: m for m in last_readings(conn) if m.enterprise_id == ent.id}
        carriers = totals(conn, factors, start=year_start, end=now, zone=zone, scope=scope)
        days = [
            (p.start.astimezone(zone).date().isoformat(), Energy.of(p.carriers))
            for p in totals_by_period(
                conn, factors, start=first, end=now, zone=zone, interval="1d", scope=scope
            )
        ]
        completeness_rows = consumption(
            conn, start=month_start, end=now, interval="1mo", zone=zone, scope=scope
        )
        production = production_section(conn, ent, now.astimezone(zone).date())
        consumed = series(conn, ent, meters, carrier, resolution, zone)
        demand = demand_section(conn, code=ent.code, now=now, zone=zone)
    quality = enterprise_summary(ctx, ent.code)
    days.sort()
    silent_after = ctx.config.alerts.silent_intervals
    status = {
        m.code: _status(last.get(m.code), now, silent_after) if m.active else "inactive"
        for m in meters
    }
    pue = [r.row for r in ranking_snapshot(ctx, "ytd").value if r.enterprise_id == ent.id]
    budgets = [r.row for r in budget_snapshot(ctx).value if r.enterprise_id == ent.id]
    window = intensity_window(ctx, *year_month(month), "month")
    found = [e for e in intensity_snapshot(ctx, window).value if e.code == ent.code]
    threshold = ctx.config.common.min_completeness
    intensity = enterprise_out(found[0], threshold) if found else None
    chart = charts.bars([d for d, _ in days], [round(e.tce, 3) for _, e in days], "tce", "tce")
    _, words = gettext_for(request), wording_for(request)
    whose = f"{ent.name} ({ent.code})"
    tables = [
        daily_energy("day-figures", _("Energy by day, last 30 days"), days, _, whose),
        carrier_table(ent, carriers, _, words),
        completeness(
            "completeness-figures",
            [(c.carrier, c.completeness) for c in completeness_rows],
            ctx.config.common.min_completeness,
            _,
            whose,
        ),
        *meter_tables(ent, sites, meters, status, last, _),
        *(intensity_tables(ent, intensity, _, words) if intensity is not None else ()),
        *production_tables(ent, production, _, zone),
        series_table(ent, consumed, threshold, _),
        demand_table(ent, demand, _),
        *(quality_tables(ent, quality, _) if quality is not None else ()),
    ]
    return render(
        ctx,
        request,
        "enterprise.html",
        who=who,
        own=own,
        ent=ent,
        sites=sites,
        meters=meters,
        status=status,
        last=last,
        carriers=carriers,
        year=Energy.of(carriers),
        days=days,
        day_chart=chart,
        pue=pue,
        budgets=budgets,
        completeness=completeness_rows,
        intensity=intensity,
        tables=tables,
        series=consumed,
        demand=demand,
        quality=quality,
        error=None,
        **production,
    )


@router.get("/enterprises/{code}/report")
def report(
    ctx: ConsoleCtx,
    who: User,
    code: str,
    month: Annotated[str | None, Query(max_length=7)] = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """The monthly report file, exactly as ``/api/v1/reports/enterprises/{code}/monthly``."""
    with ctx.reads.connect() as conn:
        enterprise_or_404(conn, who, code)
    return enterprise_monthly(
        ctx, who, code, month=month or None, format=format, method="equivalent"
    )


def _status(reading: MeterLastReading | None, now: datetime, silent_intervals: int) -> str:
    """online, silent (no data for ``silent_intervals`` expected intervals, as the silent-meter
    alert decides) or no data yet."""
    if reading is None or reading.last_reading_at is None:
        return "no_data"
    if now - reading.last_reading_at > timedelta(seconds=reading.interval_s * silent_intervals):
        return "silent"
    return "online"
