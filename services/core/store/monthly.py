"""Points' consumption and completeness per local month, from the monthly rollups.

``consumption_1mo`` is ``consumption_1d`` summed per month by the accounting service, with each
month's measured and estimated collection periods; what a point owes a month follows from its
service span (services/core/store/completeness.py: the one definition of completeness). Both
reads are one statement each, built once, for any number of points and months.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Date, Integer, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from services.core.domain.completeness import PointCompleteness, ServiceSpan, local_midnight
from services.core.errors import EnergymonError
from services.core.schema.tables import consumption_1mo
from services.core.store.completeness import owed
from services.core.store.rollups import days_zone


class MonthsInAnotherZoneError(EnergymonError):
    def __init__(self, built: str, asked: str) -> None:
        super().__init__(
            f"the monthly rollups were built in {built}, not {asked}: "
            "run 'energymon accounting rebuild-days'"
        )


@dataclass(frozen=True, slots=True)
class PointMonth:
    """A point's energy in a local month (in the point's unit) and its completeness."""

    point_id: int
    month: date
    energy: float
    completeness: PointCompleteness


def month_after(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


@lru_cache(maxsize=1)
def _sums() -> Select[Any]:
    mo = consumption_1mo.c
    ids = bindparam("monthly_ids", type_=ARRAY(Integer))
    months = bindparam("monthly_months", type_=ARRAY(Date))
    return select(
        mo.point_id, mo.month, mo.energy, mo.measured_periods, mo.estimated_periods
    ).where(mo.point_id == func.any(ids), mo.month == func.any(months))


def point_months(
    conn: Connection,
    *,
    point_ids: Sequence[int],
    months: Sequence[date],
    zone: ZoneInfo,
    now: datetime | None = None,
) -> dict[tuple[int, date], PointMonth]:
    """Each point's energy and completeness in each of ``months`` (first local days), by
    ``(point_id, month)``; a month the point has no row for has energy 0 and whatever it owes
    missing. Raises :class:`MonthsInAnotherZoneError` when the rollups are in another zone."""
    ids = sorted(set(point_ids))
    wanted = sorted(set(months))
    if not ids or not wanted:
        return {}
    built = days_zone(conn)
    if built not in (None, zone.key):
        raise MonthsInAnotherZoneError(built, zone.key)
    rows = {
        (int(r.point_id), r.month): r
        for r in conn.execute(_sums(), {"monthly_ids": ids, "monthly_months": wanted}).all()
    }
    when = now if now is not None else datetime.now(UTC)
    lo = local_midnight(wanted[0], zone)
    hi = local_midnight(month_after(wanted[-1]), zone)
    ids_param = bindparam("monthly_owed_ids", ids, type_=ARRAY(Integer))
    spans = owed(conn, ids=select(func.unnest(ids_param)), start=lo, end=hi, zone=zone, now=when)
    bounds = {m: (local_midnight(m, zone), local_midnight(month_after(m), zone)) for m in wanted}
    whole: dict[tuple[date, int], int] = {}  # periods of a whole month, by month and period
    out = {}
    for o in spans:
        for month in wanted:
            start, end = bounds[month]
            if o.span.since <= start and end <= o.span.until:
                key = (month, o.period_s)
                if key not in whole:
                    whole[key] = ServiceSpan(start, end).expected(o.period_s, zone)
                expected = whole[key]
            else:
                expected = ServiceSpan(max(o.span.since, start), min(o.span.until, end)).expected(
                    o.period_s, zone
                )
            row = rows.get((o.point_id, month))
            measured = int(row.measured_periods) if row is not None else 0
            estimated = int(row.estimated_periods) if row is not None else 0
            out[(o.point_id, month)] = PointMonth(
                o.point_id,
                month,
                float(row.energy) if row is not None else 0.0,
                PointCompleteness(
                    o.point_id, expected, min(measured, expected), min(estimated, expected)
                ),
            )
    return out
