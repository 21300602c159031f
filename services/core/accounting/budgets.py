"""Budget status from the rollups: used to date, projections and the state, per active budget.

A budget without a carrier is comprehensive energy in tce (every carrier converted with the
factors valid at the start of the year); a carrier budget sums that carrier in the budget's unit.
Only boundary meters count. The run-rate projection uses the last 30 whole local days and today so
far, or the time since the enterprise's first data this year if shorter; last year's pattern is
taken up to the same date. One grouped query serves every budget, reading whole days from the
daily rollups.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.core.accounting.days import midnight, window_source
from services.core.domain.budget import BudgetStatus, budget_status
from services.core.domain.coefficients import FactorSet
from services.core.domain.units import conversion_factor


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


# Sums per point first (a hash aggregate over ~1,000 groups, whatever the window's row count),
# then per enterprise, site, carrier and unit. The run-rate window needs no per-enterprise
# bound: an enterprise has no rows this year before its first bucket, so starting the sum at the
# later of the year's start and the recent window's start gives the same total.
_SUMS = """
WITH per_point AS (
    SELECT c.point_id,
           sum(c.energy) FILTER (WHERE c.ts >= :year_start AND c.ts < :now) AS used,
           sum(c.energy) FILTER (
               WHERE c.ts >= greatest(:recent_start, :year_start) AND c.ts < :now) AS recent,
           sum(c.energy) FILTER (WHERE c.ts >= :last_start AND c.ts < :year_start) AS last_total,
           sum(c.energy) FILTER (WHERE c.ts >= :last_start AND c.ts < :last_now) AS last_by_now,
           sum(c.energy) FILTER (WHERE c.ts >= :month_start AND c.ts < :now) AS month_used
    FROM {source} c GROUP BY c.point_id),
firsts AS (  -- an index probe per point for its first bucket of the year
    SELECT m.enterprise_id, min(f.first) AS first
    FROM points p JOIN meters m ON m.id = p.meter_id
    CROSS JOIN LATERAL (
        SELECT min(bucket) AS first FROM consumption_15m
        WHERE point_id = p.id AND bucket >= :year_start) f
    WHERE m.enterprise_id IN (SELECT enterprise_id FROM budgets WHERE active AND year = :year)
    GROUP BY m.enterprise_id)
SELECT e.code AS enterprise, s.code AS site, m.carrier, p.unit, f.first,
       sum(c.used) AS used, sum(c.recent) AS recent, sum(c.last_total) AS last_total,
       sum(c.last_by_now) AS last_by_now, sum(c.month_used) AS month_used
FROM per_point c
JOIN points p ON p.id = c.point_id JOIN meters m ON m.id = p.meter_id
JOIN sites s ON s.id = m.site_id JOIN enterprises e ON e.id = m.enterprise_id
LEFT JOIN firsts f ON f.enterprise_id = e.id
WHERE m.role IN ('boundary', 'facility_total') AND m.carrier <> 'water'
  AND e.id IN (SELECT enterprise_id FROM budgets WHERE active AND year = :year)
GROUP BY e.code, s.code, m.carrier, p.unit, f.first
"""


def statuses(
    conn: Connection,
    factors: FactorSet,
    *,
    now: datetime,
    zone: ZoneInfo,
    thresholds: tuple[float, ...],
) -> list[tuple[BudgetRow, BudgetStatus]]:
    """Every active budget of the current local year, from one grouped query over the rollups.

    A budget with a monthly split is also reported for the current month, as a budget of its own
    (``period`` "YYYY-MM", the month's allocation, used since the first of the month, projected
    to the month's end at the recent run rate)."""
    local = now.astimezone(zone)
    year = local.year
    rows = []
    allocations: dict[int, float] = {}  # budget id -> this month's allocation
    for r in conn.execute(
        text("""
        SELECT b.id, e.id AS enterprise_id, e.code, b.site_code, b.year, b.carrier, b.amount,
               b.unit, b.monthly
        FROM budgets b JOIN enterprises e ON e.id = b.enterprise_id
        WHERE b.active AND e.active AND b.year = :year ORDER BY b.id"""),
        {"year": year},
    ):
        rows.append(
            BudgetRow(
                r.id,
                r.enterprise_id,
                r.code,
                r.site_code,
                r.year,
                r.carrier,
                r.amount,
                r.unit,
                period=str(year),
            )
        )
        allocation = (r.monthly or {}).get(str(local.month))
        if allocation:
            allocations[r.id] = float(allocation)
    if not rows:
        return []
    start = datetime(year, 1, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone)
    month_start = datetime(year, local.month, 1, tzinfo=zone)
    month_end = end if local.month == 12 else datetime(year, local.month + 1, 1, tzinfo=zone)
    last_start = start.replace(year=year - 1)
    today = now.astimezone(zone).date()
    # whole local days, so that the daily rollups answer: the last 30 days and today so far;
    # last year up to the same date
    recent_start = midnight(today - timedelta(days=30), zone)
    last_now = midnight(_same_day_last_year(today), zone)
    source, params = window_source(
        last_start,
        now,
        zone,
        "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
        "WHERE m.role IN ('boundary', 'facility_total') AND m.carrier <> 'water' "
        "AND m.enterprise_id IN (SELECT enterprise_id FROM budgets WHERE active AND year = :year)",
    )
    params |= {
        "year": year,
        "year_start": start,
        "now": now,
        "last_start": last_start,
        "recent_start": recent_start,
        "last_now": last_now,
        "month_start": month_start,
    }
    sums = conn.execute(text(_SUMS.format(source=source)), params).all()
    on, last_on = start.date(), last_start.date()
    out = []
    for b in rows:
        totals = {
            "used": 0.0,
            "recent": 0.0,
            "last_total": 0.0,
            "last_by_now": 0.0,
            "month_used": 0.0,
        }
        first = None
        for r in sums:
            if r.enterprise != b.enterprise or (b.site and r.site != b.site):
                continue
            if b.carrier and r.carrier != b.carrier:
                continue
            first = r.first
            for key in totals:
                amount = float(getattr(r, key) or 0.0)
                if not amount:
                    continue
                if b.carrier:
                    totals[key] += amount * conversion_factor(r.unit, b.unit)
                else:
                    day = last_on if key.startswith("last") else on
                    totals[key] += factors.kgce(r.carrier, amount, r.unit, day).value / 1000
        lookback_start = max(recent_start, first or now, start)
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
                    period_start=start,
                    period_end=end,
                    now=now,
                    recent_use=recent,
                    lookback_days=max(lookback_days, 1e-9),
                    last_year_share_by_now=last_share,
                    thresholds=thresholds,
                ),
            )
        )
        if b.id in allocations:
            month = replace(b, amount=allocations[b.id], period=f"{year}-{local.month:02d}")
            out.append(
                (
                    month,
                    budget_status(
                        budget=month.amount,
                        used=totals["month_used"],
                        period_start=month_start,
                        period_end=month_end,
                        now=now,
                        recent_use=recent,
                        lookback_days=max(lookback_days, 1e-9),
                        thresholds=thresholds,
                    ),
                )
            )
    return out


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
