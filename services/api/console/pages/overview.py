"""The district overview (an enterprise account's own enterprise): this month and the year to
date in tce and CO2 against the budgets, by town, the daily trend, open alerts by severity and
the data completeness. Every section is shown only when it has data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from services.api.console import charts
from services.api.console.access import ConsoleCtx, OfficerUser, User, own_code
from services.api.console.energy_tables import Gettext, completeness, daily_energy
from services.api.console.pages.budgets import projected_share
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render
from services.api.context import ApiContext
from services.api.models.budgets import BudgetStatusOut
from services.api.routes.budgets import budget_snapshot
from services.api.routes.reports import district_monthly
from services.api.security import Principal
from services.core.alerting import store as alert_store
from services.core.alerting.lifecycle import State
from services.core.domain.pue import Window, window_bounds
from services.core.factors import default_factors
from services.core.store import registry
from services.core.store.consumption import CarrierTotal, consumption, totals, totals_by_period
from services.core.store.rollups import midnight
from services.core.store.scope import Scope
from services.core.store.town_totals import totals_by_town

router = APIRouter(prefix="/console", include_in_schema=False)
TREND_DAYS = 30
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True, slots=True)
class Energy:
    tce: float
    tco2: float

    @classmethod
    def of(cls, rows: list[CarrierTotal]) -> Energy:
        return cls(
            tce=sum(t.kgce.value for t in rows if t.kgce) / 1000,
            tco2=sum(t.tco2.value for t in rows if t.tco2),
        )


@dataclass(frozen=True, slots=True)
class BudgetSummary:
    budget_tce: float
    used_tce: float
    projected_tce: float | None
    states: dict[str, int]

    @property
    def share(self) -> float:
        return self.used_tce / self.budget_tce if self.budget_tce else 0.0


@dataclass
class Overview:
    month: Energy
    year: Energy
    budgets: BudgetSummary | None
    towns: list[tuple[str, Energy, Energy]] = field(default_factory=list)
    trend: list[tuple[str, Energy]] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)
    completeness: list[tuple[str, float]] = field(default_factory=list)


@router.get("/")
def overview(ctx: ConsoleCtx, request: Request, who: User) -> Response:
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
    if who.sees_everything:  # the same for every officer: computed once per snapshot period
        snap = ctx.snapshots.get("console-overview", lambda: gather(ctx, who, None))
        figures, as_of = snap.value, snap.computed_at
    else:
        figures, as_of = gather(ctx, who, own), datetime.now(UTC)
    trend_chart = charts.line(
        [day for day, _ in figures.trend],
        [("tce", [round(e.tce, 3) for _, e in figures.trend])],
        "tce",
    )
    return render(
        ctx,
        request,
        "overview.html",
        who=who,
        own=own,
        o=figures,
        as_of=as_of,
        trend_chart=trend_chart,
        tables=overview_tables(
            figures, gettext_for(request), own, ctx.config.common.min_completeness
        ),
    )


def overview_tables(o: Overview, _: Gettext, own: str | None, low: float) -> list[Table]:
    scope = own or _("District")
    month, ytd, energy = _("This month"), _("Year to date"), _("Energy")
    towns = table(
        "town-energy",
        _("By town"),
        (
            Column(_("Town")),
            Column(f"{month} {energy}", "tce", Kind.NUMBER, 1),
            Column(f"{month} CO2", "tCO2", Kind.NUMBER, 1),
            Column(f"{ytd} {energy}", "tce", Kind.NUMBER, 1),
            Column(f"{ytd} CO2", "tCO2", Kind.NUMBER, 1),
        ),
        [
            Row(
                (town, m.tce, m.tco2, y.tce, y.tco2),
                links={0: f"/console/enterprises?{urlencode({'town': town})}"},
            )
            for town, m, y in o.towns
        ],
        filters=((_("Scope"), scope),),
    )
    return [
        daily_energy("trend-figures", _("Energy by day, last 30 days"), o.trend, _, scope),
        towns,
        completeness("completeness-figures", o.completeness, low, _, scope),
    ]


@router.get("/reports/district")
def district_report(
    ctx: ConsoleCtx,
    who: OfficerUser,
    month: Annotated[str | None, Query(max_length=7)] = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """The district's monthly summary file, exactly as ``/api/v1/reports/district/monthly``."""
    return district_monthly(ctx, who, month=month or None, format=format, method="equivalent")


@router.get("", include_in_schema=False)
def to_overview() -> Response:
    return RedirectResponse("/console/", status_code=307)


def gather(ctx: ApiContext, who: Principal, own: str | None) -> Overview:
    """The overview of the district (``own`` None: what officers see) or of one enterprise."""
    with ctx.reads.connect() as conn:
        return _gather(ctx, conn, who, own)


def _gather(ctx: ApiContext, conn: Connection, who: Principal, own: str | None) -> Overview:
    zone = ctx.config.common.zone
    now = datetime.now(UTC)
    scope = Scope(enterprise=own) if own else Scope()
    month = window_bounds(Window.MONTH_TO_DATE, now, zone)
    year = window_bounds(Window.YEAR_TO_DATE, now, zone)
    factors = default_factors()

    def energy(bounds: tuple[datetime, datetime], of: Scope) -> Energy:
        start, end = bounds
        return Energy.of(totals(conn, factors, start=start, end=end, zone=zone, scope=of))

    out = Overview(month=energy(month, scope), year=energy(year, scope), budgets=_budgets(ctx, who))
    if who.sees_everything:
        ents = registry.enterprises_page(conn, limit=1_000_000)
        by_town = [
            totals_by_town(conn, factors, start=start, end=end, zone=zone)
            for start, end in (month, year)
        ]
        for town in sorted({e.town for e in ents if e.active and e.town}):
            this_month, to_date = (Energy.of(t.get(town, [])) for t in by_town)
            out.towns.append((town, this_month, to_date))
    first = midnight(now.astimezone(zone).date() - timedelta(days=TREND_DAYS - 1), zone)
    for p in totals_by_period(
        conn, factors, start=first, end=now, zone=zone, interval="1d", scope=scope
    ):
        out.trend.append((p.start.astimezone(zone).date().isoformat(), Energy.of(p.carriers)))
    out.trend.sort()
    out.alerts = _open_alerts(conn, who)
    start, end = month
    for c in consumption(conn, start=start, end=end, interval="1mo", zone=zone, scope=scope):
        out.completeness.append((c.carrier, c.completeness))
    return out


def _budgets(ctx: ApiContext, who: Principal) -> BudgetSummary | None:
    """This year's whole-year tce budgets of what the user sees, added up."""
    rows: list[BudgetStatusOut] = [
        r.row
        for r in budget_snapshot(ctx).value
        if who.sees_everything or r.enterprise_id == who.enterprise_id
    ]
    yearly = [r for r in rows if r.carrier is None and r.unit == "tce" and r.period == str(r.year)]
    if not yearly:
        return None
    projections = [share * r.budget for r in yearly if (share := projected_share(r)) is not None]
    return BudgetSummary(
        budget_tce=sum(r.budget for r in yearly),
        used_tce=sum(r.used for r in yearly),
        projected_tce=sum(projections) if len(projections) == len(yearly) else None,
        states=dict(Counter(r.state for r in rows)),
    )


def _open_alerts(conn: Connection, who: Principal) -> dict[str, int]:
    """Open and acknowledged alerts by severity."""
    if who.sees_everything:
        counts: Counter[str] = Counter()
        for (_rule, severity), n in alert_store.live_alert_counts(conn).items():
            counts[severity] += n
        return dict(counts)
    live = alert_store.alert_page(
        conn,
        limit=10_000,
        enterprise_ids=() if who.enterprise_id is None else (who.enterprise_id,),
        states=[State.OPEN.value, State.ACKNOWLEDGED.value],
    )
    return dict(Counter(a.severity for a in live))
