"""Writing the daily rollups: ``consumption_1d`` is ``consumption_15m`` summed per local day.

A pass refreshes a point's days in the same transaction as its 15-minute buckets, so the two
never disagree; :func:`rebuild_days` rebuilds them all in another zone and records it in
``rollup_meta``. How queries read them: ``services.core.store.rollups``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.core.store.rollups import midnight

_DELETE = "DELETE FROM consumption_1d WHERE point_id = :pid AND day >= :d0 AND day <= :d1"
_REFRESH = """
INSERT INTO consumption_1d (point_id, day, energy, readings, expected, estimated)
SELECT point_id, (bucket AT TIME ZONE :zone)::date, sum(energy), sum(readings), sum(expected),
       bool_or(estimated)
FROM consumption_15m WHERE point_id = :pid AND bucket >= :lo AND bucket < :hi
GROUP BY 1, 2
"""


def refresh_days(
    conn: Connection, pid: int, lo_bucket: datetime, hi_bucket: datetime, zone: ZoneInfo
) -> None:
    """Recompute the local days of ``pid`` that buckets in [lo_bucket, hi_bucket] belong to."""
    d0 = lo_bucket.astimezone(zone).date()
    d1 = hi_bucket.astimezone(zone).date()
    conn.execute(text(_DELETE), {"pid": pid, "d0": d0, "d1": d1})
    conn.execute(
        text(_REFRESH),
        {
            "pid": pid,
            "d0": d0,
            "d1": d1,
            "zone": zone.key,
            "lo": midnight(d0, zone),
            "hi": midnight(d1 + timedelta(days=1), zone),
        },
    )


def rebuild_days(conn: Connection, zone: ZoneInfo) -> int:
    """Rebuild every daily rollup in ``zone`` (after the configured zone changed)."""
    conn.execute(text("DELETE FROM consumption_1d"))
    rows = conn.execute(
        text("""
        INSERT INTO consumption_1d (point_id, day, energy, readings, expected, estimated)
        SELECT point_id, (bucket AT TIME ZONE :zone)::date, sum(energy), sum(readings),
               sum(expected), bool_or(estimated)
        FROM consumption_15m GROUP BY 1, 2"""),
        {"zone": zone.key},
    ).rowcount
    conn.execute(
        text("""
        INSERT INTO rollup_meta (key, value) VALUES ('days_zone', :zone)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value"""),
        {"zone": zone.key},
    )
    return int(rows or 0)
