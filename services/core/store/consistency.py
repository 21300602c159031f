"""The days-against-month check: per point, the daily rollups of a span of local days against the
same span summed from the 15-minute rollups (services/core/domain/balance.py decides)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from services.core.domain.balance import DaysAgainstMonth, days_against_month
from services.core.schema.tables import consumption_1d, consumption_15m
from services.core.store.ids import among
from services.core.store.rollups import days_zone, midnight


def days_against_span(
    conn: Connection,
    *,
    first_day: date,
    days: int,
    zone: ZoneInfo,
    point_ids: Sequence[int] | None = None,
) -> dict[int, DaysAgainstMonth]:
    """Per point with consumption in the span: Σ consumption_1d over the days against
    Σ consumption_15m over the same local span. Empty when the daily rollups were built in
    another zone than ``zone`` (their days are not these days)."""
    if days_zone(conn) not in (None, zone.key):
        return {}
    stop = first_day + timedelta(days=days)
    daily = select(
        consumption_1d.c.point_id, func.sum(consumption_1d.c.energy).label("energy")
    ).where(consumption_1d.c.day >= first_day, consumption_1d.c.day < stop)
    whole = select(
        consumption_15m.c.point_id, func.sum(consumption_15m.c.energy).label("energy")
    ).where(
        consumption_15m.c.bucket >= midnight(first_day, zone),
        consumption_15m.c.bucket < midnight(stop, zone),
    )
    if point_ids is not None:
        daily = daily.where(among(consumption_1d.c.point_id, point_ids))
        whole = whole.where(among(consumption_15m.c.point_id, point_ids))
    by_day = {
        int(r.point_id): float(r.energy)
        for r in conn.execute(daily.group_by(consumption_1d.c.point_id))
    }
    by_bucket = {
        int(r.point_id): float(r.energy)
        for r in conn.execute(whole.group_by(consumption_15m.c.point_id))
    }
    return {
        pid: days_against_month([by_day.get(pid, 0.0)], by_bucket.get(pid, 0.0))
        for pid in sorted(set(by_day) | set(by_bucket))
    }
