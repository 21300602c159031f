"""Writing the daily rollups: ``consumption_1d`` is ``consumption_15m`` summed per local day, with
the day's measured and estimated collection periods counted at the point's period.

A pass refreshes a point's days, and the months they belong to (``consumption_1mo``,
:mod:`services.accounting.months`), in the same transaction as its 15-minute buckets, so the three
never disagree; :func:`rebuild_days` rebuilds them all in another zone and records it in
``rollup_meta``. How queries read them: ``services.core.store.rollups`` (energy) and
``services.core.store.completeness`` (periods).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    String,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    select,
    values,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.accounting.months import rebuild_months, refresh_months
from services.core.domain.completeness import collection_period_s
from services.core.schema.tables import consumption_1d, consumption_15m, points, rollup_meta
from services.core.store.completeness import measured_bucket, period_number
from services.core.store.rollups import midnight

_DAY_COLUMNS = [
    "point_id",
    "day",
    "energy",
    "readings",
    "expected",
    "estimated",
    "measured_periods",
    "estimated_periods",
]


def _per_day(zone: Any, period_s: Any, source: Any, *conds: Any) -> Any:
    """The day rows of the 15-minute rows of ``source`` (``consumption_15m``, possibly joined to
    the points' periods) that match ``conds``: sums, and the periods measured or estimated."""
    c = consumption_15m.c
    day = cast(func.timezone(zone, c.bucket), Date).label("day")
    n = period_number(c.bucket, zone, period_s)
    p = (
        select(
            c.point_id,
            day,
            func.sum(c.energy).label("energy"),
            func.sum(c.readings).label("readings"),
            func.sum(c.expected).label("expected"),
            func.bool_or(c.estimated).label("estimated"),
            func.bool_or(measured_bucket(c.readings, c.estimated)).label("measured"),
        )
        .select_from(source)
        .where(*conds)
        .group_by(c.point_id, day, n)
        .subquery("p")
    )
    return select(
        p.c.point_id,
        p.c.day,
        func.sum(p.c.energy),
        func.sum(p.c.readings),
        func.sum(p.c.expected),
        func.bool_or(p.c.estimated),
        func.count().filter(p.c.measured),
        func.count().filter(~p.c.measured),
    ).group_by(p.c.point_id, p.c.day)


_c, _d = consumption_15m.c, consumption_1d.c
# built once, the values bound at each point's refresh
_CLEAR = delete(consumption_1d).where(
    _d.point_id == bindparam("pid"), _d.day >= bindparam("d0"), _d.day <= bindparam("d1")
)
_WRITE = insert(consumption_1d).from_select(
    _DAY_COLUMNS,
    _per_day(
        bindparam("zone", type_=String),
        bindparam("period_s", type_=Integer),
        consumption_15m,
        _c.point_id == bindparam("pid"),
        _c.bucket >= bindparam("from_ts"),
        _c.bucket < bindparam("to_ts"),
    ),
)


def refresh_days(
    conn: Connection,
    pid: int,
    interval_s: int | None,
    buckets: tuple[datetime, datetime],
    zone: ZoneInfo,
) -> None:
    """Recompute the local days of ``pid`` (read every ``interval_s``) that the buckets from
    ``buckets[0]`` to ``buckets[1]`` belong to, and the months of those days."""
    d0 = buckets[0].astimezone(zone).date()
    d1 = buckets[1].astimezone(zone).date()
    conn.execute(_CLEAR, {"pid": pid, "d0": d0, "d1": d1})
    conn.execute(
        _WRITE,
        {
            "pid": pid,
            "zone": zone.key,
            "period_s": collection_period_s(int(interval_s or 900)),
            "from_ts": midnight(d0, zone),
            "to_ts": midnight(d1 + timedelta(days=1), zone),
        },
    )
    refresh_months(conn, pid, d0, d1)


def rebuild_days(conn: Connection, zone: ZoneInfo) -> int:
    """Rebuild every daily rollup in ``zone`` (after the configured zone changed, or a point's
    declared interval and so its period), and every monthly one from them; returns the days."""
    conn.execute(delete(consumption_1d))
    periods = [
        (int(pid), collection_period_s(int(interval_s)))
        for pid, interval_s in conn.execute(select(points.c.id, points.c.interval_s))
    ]
    rows = 0
    if periods:
        v = values(column("point_id", Integer), column("period_s", Integer), name="periods").data(
            periods
        )
        source = consumption_15m.join(v, v.c.point_id == consumption_15m.c.point_id)
        rows = conn.execute(
            insert(consumption_1d).from_select(
                _DAY_COLUMNS, _per_day(zone.key, v.c.period_s, source)
            )
        ).rowcount
    rebuild_months(conn)
    meta = pg_insert(rollup_meta).values(key="days_zone", value=zone.key)
    conn.execute(meta.on_conflict_do_update(index_elements=["key"], set_={"value": zone.key}))
    return int(rows or 0)
