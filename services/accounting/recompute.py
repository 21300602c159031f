"""Recomputing one point's 15-minute buckets (and their local days) from the raw readings.

For new readings in [first, last], the buckets that can change run from the bucket of the reading
before the earliest new one to the bucket of the reading after the latest; each is rewritten
whole from the raw readings in it and around it (one more on each side, three more after for the
dip rule), with the pure functions of ``services.core.domain``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, UnaryExpression, delete, func, insert, select

from services.accounting.counter_events import record_events
from services.accounting.days import refresh_days
from services.core.domain.buckets import BUCKET, bucket_start, buckets
from services.core.domain.counters import CounterResult, Reading, Replacement, intervals
from services.core.domain.power import DEFAULT_MAX_GAP_S, integrate
from services.core.schema.tables import (
    consumption_15m,
    meter_replacements,
    meters,
    points,
    rollup_dirty,
)
from services.core.schema.tables import readings as raw_readings

_r = raw_readings.c
_derived = points.alias("derived")
_POINT = select(
    points.c.kind,
    points.c.interval_s,
    points.c.register_max,
    points.c.max_rate,
    meters.c.multiplier,
    points.c.source_point_id,
    # the energy point integrated from this (power) point, if any
    select(_derived.c.id)
    .where(_derived.c.source_point_id == points.c.id, _derived.c.active)
    .scalar_subquery()
    .label("derived"),
).join_from(points, meters, meters.c.id == points.c.meter_id)


def _edge(
    conn: Connection, pid: int, side: ColumnElement[bool], order: UnaryExpression[Any], n: int
) -> list[datetime]:
    """The times of the ``n`` readings of ``pid`` nearest the edge ``side`` names."""
    return list(
        conn.execute(
            select(_r.ts).where(_r.point_id == pid, side).order_by(order).limit(n)
        ).scalars()
    )


def _before(conn: Connection, pid: int, t: datetime, n: int) -> list[datetime]:
    return _edge(conn, pid, _r.ts < t, _r.ts.desc(), n)


def _after(conn: Connection, pid: int, t: datetime, n: int) -> list[datetime]:
    return _edge(conn, pid, _r.ts > t, _r.ts.asc(), n)


def _from(conn: Connection, pid: int, t: datetime, n: int) -> list[datetime]:
    return _edge(conn, pid, _r.ts >= t, _r.ts.asc(), n)


def recompute_point(
    conn: Connection, pid: int, first: datetime, last: datetime, days: ZoneInfo | None = None
) -> int:
    """Recompute the buckets of ``pid`` that readings in [first, last] can change, and the
    local days (in ``days``) those buckets belong to. For a power point that an energy point is
    integrated from, the buckets written are the energy point's."""
    point = conn.execute(_POINT.where(points.c.id == pid)).first()
    if point is None:
        return 0
    if point.source_point_id is not None:  # integrated from power: the power readings decide
        return recompute_point(conn, int(point.source_point_id), first, last, days)
    counter = point.kind == "cumulative"
    if not counter and point.derived is None:
        return 0  # other instantaneous points have no consumption
    target = pid if counter else int(point.derived)
    before = _before(conn, pid, first, 1)  # the reading before the new ones
    after = _after(conn, pid, last, 1)  # and the one after
    lo_bucket = bucket_start(before[0] if before else first)
    hi_bucket = bucket_start(after[0] if after else last)
    # The buckets are rewritten whole, so read every reading in them, and around them the ones
    # whose intervals reach into them: two before (one more for context), five after (the one
    # after, one more, three for the dip rule).
    lead = _before(conn, pid, lo_bucket, 2)
    tail = _from(conn, pid, hi_bucket + BUCKET, 5)
    lo = lead[-1] if lead else lo_bucket
    hi = tail[-1] if tail else hi_bucket + BUCKET
    rows = conn.execute(
        select(_r.ts, _r.value).where(_r.point_id == pid, _r.ts >= lo, _r.ts <= hi).order_by(_r.ts)
    )
    readings = [Reading(r.ts, r.value) for r in rows]
    if counter:
        result = _counter_intervals(conn, pid, point, readings, (lo, hi))
        found = result.intervals
    else:
        found = integrate(
            readings,
            multiplier=float(point.multiplier),
            max_gap_s=max(DEFAULT_MAX_GAP_S, 2.0 * point.interval_s),
        )
    computed = buckets(found, readings, interval_s=point.interval_s)
    q = consumption_15m.c
    conn.execute(
        delete(consumption_15m).where(
            q.point_id == target, q.bucket >= lo_bucket, q.bucket <= hi_bucket
        )
    )
    keep = [b for start, b in computed.items() if lo_bucket <= start <= hi_bucket]
    if keep:
        conn.execute(
            insert(consumption_15m),
            [
                {
                    "point_id": target,
                    "bucket": b.start,
                    "energy": b.energy,
                    "readings": b.readings,
                    "expected": b.expected,
                    "estimated": b.estimated,
                }
                for b in keep
            ],
        )
    if days is not None:
        refresh_days(conn, target, lo_bucket, hi_bucket, days)
    if counter:
        edge_lo = before[0] if before else first
        record_events(conn, pid, edge_lo, after[0] if after else last, result)
    return len(keep)


def _counter_intervals(
    conn: Connection, pid: int, point: Any, readings: list[Reading], span: tuple[datetime, datetime]
) -> CounterResult:
    lo, hi = span
    m = meter_replacements.c
    swaps = [
        Replacement(r.ts, r.old_final, r.new_first)
        for r in conn.execute(
            select(m.ts, m.old_final, m.new_first).where(m.point_id == pid, m.ts > lo, m.ts <= hi)
        )
    ]
    return intervals(
        readings,
        multiplier=float(point.multiplier),
        register_max=point.register_max,
        replacements=swaps,
        max_power=point.max_rate,
    )


def mark_for_recompute(conn: Connection, since: datetime | None = None) -> int:
    """Mark every point's readings (from ``since``) for the rollups to recompute, e.g. after a
    meter's multiplier was corrected. Returns the number of points marked."""
    ranges = select(_r.point_id, func.min(_r.ts), func.max(_r.ts)).group_by(_r.point_id)
    if since is not None:
        ranges = ranges.where(_r.ts >= since)
    result = conn.execute(
        insert(rollup_dirty).from_select(["point_id", "from_ts", "to_ts"], ranges)
    )
    return result.rowcount
