"""Writing the daily rollups: ``consumption_1d`` is ``consumption_15m`` summed per local day.

A pass refreshes a point's days in the same transaction as its 15-minute buckets, so the two
never disagree; :func:`rebuild_days` rebuilds them all in another zone and records it in
``rollup_meta``. How queries read them: ``services.core.store.rollups``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Date, Insert, cast, delete, func, select
from sqlalchemy.dialects.postgresql import insert

from services.core.schema.tables import consumption_1d, consumption_15m, rollup_meta
from services.core.store.rollups import midnight

_q = consumption_15m.c
_d = consumption_1d.c


def _sum_days(zone: ZoneInfo, *where: ColumnElement[bool]) -> Insert:
    """``consumption_1d`` rows from the 15-minute rows ``where`` holds, by local day in ``zone``."""
    day = cast(func.timezone(zone.key, _q.bucket), Date)  # bucket AT TIME ZONE zone
    per_day = (
        select(
            _q.point_id,
            day,
            func.sum(_q.energy),
            func.sum(_q.readings),
            func.sum(_q.expected),
            func.bool_or(_q.estimated),
        )
        .where(*where)
        .group_by(_q.point_id, day)
    )
    return insert(consumption_1d).from_select(
        ["point_id", "day", "energy", "readings", "expected", "estimated"], per_day
    )


def refresh_days(
    conn: Connection, pid: int, lo_bucket: datetime, hi_bucket: datetime, zone: ZoneInfo
) -> None:
    """Recompute the local days of ``pid`` that buckets in [lo_bucket, hi_bucket] belong to."""
    d0 = lo_bucket.astimezone(zone).date()
    d1 = hi_bucket.astimezone(zone).date()
    conn.execute(delete(consumption_1d).where(_d.point_id == pid, _d.day >= d0, _d.day <= d1))
    conn.execute(
        _sum_days(
            zone,
            _q.point_id == pid,
            _q.bucket >= midnight(d0, zone),
            _q.bucket < midnight(d1 + timedelta(days=1), zone),
        )
    )


def rebuild_days(conn: Connection, zone: ZoneInfo) -> int:
    """Rebuild every daily rollup in ``zone`` (after the configured zone changed)."""
    conn.execute(delete(consumption_1d))
    rows = conn.execute(_sum_days(zone)).rowcount
    record = insert(rollup_meta).values(key="days_zone", value=zone.key)
    conn.execute(
        record.on_conflict_do_update(index_elements=["key"], set_={"value": record.excluded.value})
    )
    return int(rows or 0)
