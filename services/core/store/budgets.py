"""Budget status from the rollups (用能预算管理): used to date, projections and the verdict, per
active budget.

A budget without a carrier is comprehensive energy in tce (every carrier converted with the
factors valid at the start of the year); a carrier budget sums that carrier in the budget's unit.
Only the roles that add up to a whole count. The run-rate projection uses the last 30 whole local
days and today so far, or the time since the enterprise's first data this year if shorter; last
year's pattern is taken up to the same date. One grouped query serves every budget, reading whole
days from the daily rollups. Each status carries its ``coverage``: the completeness of the
budget's points over the period to date and over the run-rate window, the lower of the two
(services/core/store/completeness.py), and whether it reaches ``min_completeness``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, true

from services.core.domain.budget import BudgetStatus, budget_status
from services.core.domain.coefficients import FactorSet
from services.core.domain.completeness import DEFAULT_THRESHOLD
from services.core.domain.quantities import COUNTED_QUANTITIES
from services.core.domain.roles import COUNTED_ROLES
from services.core.domain.units import conversion_factor
from services.core.schema.tables import (
    budgets,
    consumption_15m,
    enterprises,
    meters,
    points,
    sites,
)
from services.core.store.completeness import PointCompleteness, combined, point_completeness
from services.core.store.factors import enterprise_factors
from services.core.store.rollups import midnight, window_source

_COUNTED = sorted(r.value for r in COUNTED_ROLES)


@dataclass(frozen=True, slots=True)
class BudgetRow:
    id: int
    enterprise_id: int
    enterprise: str
    site: str
    year: int
    carrier: str
    amount: float
    unit: str
    period: str = ""  # "2026" for the year; "2026-11" for a month of a monthly split

    @property
    def label(self) -> str:
        scope = f"{self.enterprise}/{self.site}" if self.site else self.enterprise
        return f"{scope} {self.period or self.year} {self.carrier or 'energy'} ({self.unit})"


@dataclass(frozen=True, slots=True)
class _Sums:
    enterprise: str
    site: str
    carrier: str
    unit: str
    first: datetime | None  # the enterprise's first bucket this year
    used: float
    recent: float
    last_total: float
    last_by_now: float
    month_used: float


@dataclass(frozen=True, slots=True)
class _Point:
    id: int
    enterprise: str
    site: str
    carrier: str

    def serves(self, b: BudgetRow) -> bool:
        return (
            self.enterprise == b.enterprise
            and (not b.site or self.site == b.site)
            and (not b.carrier or self.carrier == b.carrier)
        )


@dataclass(frozen=True, slots=True)
class _Coverage:
    """Completeness of every budget point over the year, the month and the run-rate window."""

    points: list[_Point]
    year: dict[int, PointCompleteness]
    month: dict[int, PointCompleteness]
    recent: dict[int, PointCompleteness]

    def of(self, b: BudgetRow, *, monthly: bool) -> float:
        mine = [p.id for p in self.points if p.serves(b)]
        period = self.month if monthly else self.year
        return min(
            combined(period[i] for i in mine).share, combined(self.recent[i] for i in mine).share
        )


@dataclass(frozen=True, slots=True)
class _Window:
    year: int
    year_start: datetime
    year_end: datetime
    now: datetime
    recent_start: datetime
    last_start: datetime
    last_now: datetime
    month_start: datetime
    month_end: datetime

    @classmethod
    def at(cls, now: datetime, zone: ZoneInfo) -> _Window:
        local = now.astimezone(zone)
        year = local.year
        start = datetime(year, 1, 1, tzinfo=zone)
        end = datetime(year + 1, 1, 1, tzinfo=zone)
        today = local.date()
        # whole local days, so that the daily rollups answer: the last 30 days and today so
        # far; last year up to the same date
        return cls(
            year=year,
            year_start=start,
            year_end=end,
            now=now,
            recent_start=midnight(today - timedelta(days=30), zone),
            last_start=start.replace(year=year - 1),
            last_now=midnight(_same_day_last_year(today), zone),
            month_start=datetime(year, local.month, 1, tzinfo=zone),
            month_end=end if local.month == 12 else datetime(year, local.month + 1, 1, tzinfo=zone),
        )


def active_budgets(conn: Connection, *, year: int) -> list[tuple[BudgetRow, Any]]:
    """Active budgets of ``year`` of active enterprises, with their monthly split (or None)."""
    stmt = (
        select(
            budgets.c.id,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code,
            budgets.c.site_code,
            budgets.c.year,
            budgets.c.carrier,
            budgets.c.amount,
            budgets.c.unit,
            budgets.c.monthly,
        )
        .join(enterprises, enterprises.c.id == budgets.c.enterprise_id)
        .where(budgets.c.active, enterprises.c.active, budgets.c.year == year)
        .order_by(budgets.c.id)
    )
    return [
        (
            BudgetRow(
                id=r.id,
                enterprise_id=r.enterprise_id,
                enterprise=r.code,
                site=r.site_code,
                year=r.year,
                carrier=r.carrier,
                amount=r.amount,
                unit=r.unit,
                period=str(year),
            ),
            r.monthly,
        )
        for r in conn.execute(stmt)
    ]


def _sums(conn: Connection, w: _Window, zone: ZoneInfo) -> list[_Sums]:
    """Sums per point first (a hash aggregate over ~1,000 groups, whatever the window's row
    count), then per enterprise, site, carrier and unit. The run-rate window needs no
    per-enterprise bound: an enterprise has no rows this year before its first bucket, so
    starting the sum at the later of the year's start and the recent window's start gives the
    same total."""
    budgeted = (
        select(budgets.c.enterprise_id)
        .where(budgets.c.active, budgets.c.year == w.year)
        .correlate(None)
    )
    counted = (
        meters.c.role.in_(_COUNTED),
        meters.c.carrier != "water",
    )
    budget_points = (
        select(points.c.id)
        .join(meters, meters.c.id == points.c.meter_id)
        .where(*counted, meters.c.enterprise_id.in_(budgeted))
        .correlate(None)
    )
    c = window_source(w.last_start, w.now, zone, budget_points)

    def between(lo: datetime, hi: datetime) -> Any:
        return func.sum(c.c.energy).filter((c.c.ts >= lo) & (c.c.ts < hi))

    per_point = (
        select(
            c.c.point_id,
            between(w.year_start, w.now).label("used"),
            between(max(w.recent_start, w.year_start), w.now).label("recent"),
            between(w.last_start, w.year_start).label("last_total"),
            between(w.last_start, w.last_now).label("last_by_now"),
            between(w.month_start, w.now).label("month_used"),
        )
        .group_by(c.c.point_id)
        .cte("per_point")
    )
    # an index probe per point for its first bucket of the year
    first_bucket = (
        select(func.min(consumption_15m.c.bucket).label("first"))
        .where(consumption_15m.c.point_id == points.c.id, consumption_15m.c.bucket >= w.year_start)
        .correlate(points)
        .lateral("f")
    )
    firsts = (
        select(meters.c.enterprise_id, func.min(first_bucket.c.first).label("first"))
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(first_bucket, true())
        .where(meters.c.enterprise_id.in_(budgeted))
        .group_by(meters.c.enterprise_id)
        .cte("firsts")
    )
    stmt = (
        select(
            enterprises.c.code.label("enterprise"),
            sites.c.code.label("site"),
            meters.c.carrier,
            points.c.unit,
            firsts.c.first,
            func.sum(per_point.c.used).label("used"),
            func.sum(per_point.c.recent).label("recent"),
            func.sum(per_point.c.last_total).label("last_total"),
            func.sum(per_point.c.last_by_now).label("last_by_now"),
            func.sum(per_point.c.month_used).label("month_used"),
        )
        .select_from(per_point)
        .join(points, points.c.id == per_point.c.point_id)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .outerjoin(firsts, firsts.c.enterprise_id == enterprises.c.id)
        .where(*counted, enterprises.c.id.in_(budgeted))
        .group_by(enterprises.c.code, sites.c.code, meters.c.carrier, points.c.unit, firsts.c.first)
    )
    return [
        _Sums(
            enterprise=r.enterprise,
            site=r.site,
            carrier=r.carrier,
            unit=r.unit,
            first=r.first,
            used=float(r.used or 0.0),
            recent=float(r.recent or 0.0),
            last_total=float(r.last_total or 0.0),
            last_by_now=float(r.last_by_now or 0.0),
            month_used=float(r.month_used or 0.0),
        )
        for r in conn.execute(stmt)
    ]


def _coverage(conn: Connection, w: _Window, zone: ZoneInfo) -> _Coverage:
    budgeted = select(budgets.c.enterprise_id).where(budgets.c.active, budgets.c.year == w.year)
    stmt = (
        select(points.c.id, enterprises.c.code, sites.c.code.label("site"), meters.c.carrier)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(
            meters.c.role.in_(_COUNTED),
            meters.c.carrier != "water",
            meters.c.active,
            points.c.active,
            points.c.quantity.in_(COUNTED_QUANTITIES),
            meters.c.enterprise_id.in_(budgeted),
        )
    )
    found = [_Point(r.id, r.code, r.site, r.carrier) for r in conn.execute(stmt)]
    ids = [p.id for p in found]

    def since(start: datetime) -> dict[int, PointCompleteness]:
        return point_completeness(conn, point_ids=ids, start=start, end=w.now, zone=zone, now=w.now)

    return _Coverage(
        found,
        since(w.year_start),
        since(w.month_start),
        since(max(w.recent_start, w.year_start)),
    )


def statuses(
    conn: Connection,
    factors: FactorSet,
    *,
    now: datetime,
    zone: ZoneInfo,
    thresholds: tuple[float, ...],
    min_completeness: float = DEFAULT_THRESHOLD,
) -> list[tuple[BudgetRow, BudgetStatus]]:
    """Every active budget of the current local year, from one grouped query over the rollups.

    A budget with a monthly split is also reported for the current month, as a budget of its own
    (``period`` "YYYY-MM", the month's allocation, used since the first of the month, projected
    to the month's end at the recent run rate)."""
    w = _Window.at(now, zone)
    local = now.astimezone(zone)
    found = active_budgets(conn, year=w.year)
    if not found:
        return []
    sums = _sums(conn, w, zone)
    own = enterprise_factors(conn, factors, {b.enterprise_id for b, _ in found})
    coverage = _coverage(conn, w, zone)
    on, last_on = w.year_start.date(), w.last_start.date()
    out = []
    for b, monthly in found:
        totals = dict.fromkeys(("used", "recent", "last_total", "last_by_now", "month_used"), 0.0)
        first = None
        for r in sums:
            if r.enterprise != b.enterprise or (b.site and r.site != b.site):
                continue
            if b.carrier and r.carrier != b.carrier:
                continue
            first = r.first
            for key in totals:
                amount = getattr(r, key)
                if not amount:
                    continue
                if b.carrier:
                    totals[key] += amount * conversion_factor(r.unit, b.unit)
                else:
                    day = last_on if key.startswith("last") else on
                    kgce = own[b.enterprise_id].kgce(r.carrier, amount, r.unit, day)
                    totals[key] += kgce.value / 1000
        lookback_start = max(w.recent_start, first or now, w.year_start)
        lookback_days = (now - lookback_start).total_seconds() / 86400
        last_share = (
            totals["last_by_now"] / totals["last_total"]
            if totals["last_total"] > 0 and totals["last_by_now"] > 0
            else None
        )
        recent = totals["recent"] if lookback_days > 0 else None
        out.append(
            (
                b,
                budget_status(
                    budget=b.amount,
                    used=totals["used"],
                    period_start=w.year_start,
                    period_end=w.year_end,
                    now=now,
                    recent_use=recent,
                    lookback_days=max(lookback_days, 1e-9),
                    last_year_share_by_now=last_share,
                    thresholds=thresholds,
                    coverage=coverage.of(b, monthly=False),
                    min_completeness=min_completeness,
                ),
            )
        )
        allocation = (monthly or {}).get(str(local.month))
        if allocation:
            month = replace(b, amount=float(allocation), period=f"{w.year}-{local.month:02d}")
            out.append(
                (
                    month,
                    budget_status(
                        budget=month.amount,
                        used=totals["month_used"],
                        period_start=w.month_start,
                        period_end=w.month_end,
                        now=now,
                        recent_use=recent,
                        lookback_days=max(lookback_days, 1e-9),
                        thresholds=thresholds,
                        coverage=coverage.of(b, monthly=True),
                        min_completeness=min_completeness,
                    ),
                )
            )
    return out


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
