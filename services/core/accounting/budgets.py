"""Budget status from the rollups: used to date, projections and the state, per active budget.

A budget without a carrier is comprehensive energy in tce (every carrier converted with the
factors valid at the start of the year); a carrier budget sums that carrier in the budget's unit.
The run-rate projection uses the last 30 days, or the time since the first data if shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.core.accounting.queries import consumption
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

    @property
    def label(self) -> str:
        scope = f"{self.enterprise}/{self.site}" if self.site else self.enterprise
        return f"{scope} {self.year} {self.carrier or 'energy'} ({self.unit})"


def used(
    conn: Connection,
    factors: FactorSet,
    budget: BudgetRow,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
) -> float:
    """Consumption counted against ``budget`` in [start, end), in the budget's unit."""
    if end <= start:
        return 0.0
    total = 0.0
    on = start.astimezone(zone).date()
    for row in consumption(
        conn,
        enterprise=budget.enterprise,
        start=start,
        end=end,
        interval="1y",
        zone=zone,
        site=budget.site or None,
    ):
        if budget.carrier:
            if row.carrier == budget.carrier:
                total += row.amount * conversion_factor(row.unit, budget.unit)
        elif row.carrier != "water":
            total += factors.kgce(row.carrier, row.amount, row.unit, on).value / 1000
    return total


def statuses(
    conn: Connection,
    factors: FactorSet,
    *,
    now: datetime,
    zone: ZoneInfo,
    thresholds: tuple[float, ...],
) -> list[tuple[BudgetRow, BudgetStatus]]:
    year = now.astimezone(zone).year
    rows = [
        BudgetRow(*r)
        for r in conn.execute(
            text("""
        SELECT b.id, e.id, e.code, b.site_code, b.year, b.carrier, b.amount, b.unit
        FROM budgets b JOIN enterprises e ON e.id = b.enterprise_id
        WHERE b.active AND e.active AND b.year = :year ORDER BY b.id"""),
            {"year": year},
        )
    ]
    start = datetime(year, 1, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone)
    out = []
    for b in rows:
        first = conn.execute(
            text("""
            SELECT min(c.bucket) FROM consumption_15m c JOIN points p ON p.id = c.point_id
            JOIN meters m ON m.id = p.meter_id JOIN enterprises e ON e.id = m.enterprise_id
            WHERE e.code = :e AND c.bucket >= :s"""),
            {"e": b.enterprise, "s": start},
        ).scalar()
        used_now = used(conn, factors, b, start=start, end=now, zone=zone)
        lookback_start = max(now - timedelta(days=30), first or now, start)
        lookback_days = (now - lookback_start).total_seconds() / 86400
        recent = (
            used(conn, factors, b, start=lookback_start, end=now, zone=zone)
            if lookback_days > 0
            else None
        )
        last_start, last_end = start.replace(year=year - 1), start
        last_total = used(conn, factors, b, start=last_start, end=last_end, zone=zone)
        last_share = None
        if last_total > 0:
            by_now = used(
                conn, factors, b, start=last_start, end=now.replace(year=year - 1), zone=zone
            )
            last_share = by_now / last_total if by_now > 0 else None
        out.append(
            (
                b,
                budget_status(
                    budget=b.amount,
                    used=used_now,
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
    return out
