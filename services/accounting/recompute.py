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

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    UnaryExpression,
    bindparam,
    delete,
    func,
    insert,
    select,
)

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
    # the energy point integrated from this (power) point, if any, and its interval
    *(
        select(column)
        .where(_derived.c.source_point_id == points.c.id, _derived.c.active)
        .scalar_subquery()
        .label(name)
        for column, name in ((_derived.c.id, "derived"), (_derived.c.interval_s, "derived_s"))
    ),
).join_from(points, meters, meters.c.id == points.c.meter_id)


def _edge(side: ColumnElement[bool], order: UnaryExpression[Any]) -> Select[Any]:
    """The time of the reading of ``pid`` nearest the edge ``t`` on the side ``side`` names."""
    return select(_r.ts).where(_r.point_id == bindparam("pid"), side).order_by(order).limit(1)


# Every statement of a point's recomputation is built once, with its values bound at execution:
# building and caching-keying a statement per call cost more CPU than running it.
_t = bindparam("t", type_=_r.ts.type)
_BEFORE = _edge(_r.ts < _t, _r.ts.desc())
_AFTER = _edge(_r.ts > _t, _r.ts.asc())
_THE_POINT = _POINT.where(points.c.id == bindparam("pid"))
# The buckets are rewritten whole, so read every reading in them, and around them the ones whose
# intervals reach into them: two before the first bucket (one more for context), five from the end
# of the last (the one after, one more, three for the dip rule). One statement: the span's ends
# (without such readings, the buckets' own ends) come back beside every reading.
_lo_bucket = bindparam("lo_bucket", type_=_r.ts.type)
_tail_from = bindparam("tail_from", type_=_r.ts.type)
_lead = (
    select(_r.ts)
    .where(_r.point_id == bindparam("pid"), _r.ts < _lo_bucket)
    .order_by(_r.ts.desc())
    .limit(2)
    .subquery("lead")
)
_tail = (
    select(_r.ts)
    .where(_r.point_id == bindparam("pid"), _r.ts >= _tail_from)
    .order_by(_r.ts.asc())
    .limit(5)
    .subquery("tail")
)
_lo = func.coalesce(select(func.min(_lead.c.ts)).scalar_subquery(), _lo_bucket)
_hi = func.coalesce(select(func.max(_tail.c.ts)).scalar_subquery(), _tail_from)
_READINGS = (
    select(_r.ts, _r.value, _lo.label("lo"), _hi.label("hi"))
    .where(_r.point_id == bindparam("pid"), _r.ts >= _lo, _r.ts <= _hi)
    .order_by(_r.ts)
)
_m = meter_replacements.c
_SWAPS = select(_m.ts, _m.old_final, _m.new_first).where(
    _m.point_id == bindparam("pid"), _m.ts > bindparam("lo"), _m.ts <= bindparam("hi")
)
_q = consumption_15m.c
_CLEAR = delete(consumption_15m).where(
    _q.point_id == bindparam("pid"), _q.bucket >= bindparam("lo"), _q.bucket <= bindparam("hi")
)
_WRITE = insert(consumption_15m)


def _nearest(conn: Connection, edge: Select[Any], pid: int, t: datetime) -> datetime | None:
    return conn.execute(edge, {"pid": pid, "t": t}).scalar()


def recompute_point(
    conn: Connection, pid: int, first: datetime, last: datetime, days: ZoneInfo | None = None
) -> int:
    """Recompute the buckets of ``pid`` that readings in [first, last] can change, and the
    local days (in ``days``) those buckets belong to. For a power point that an energy point is
    integrated from, the buckets written are the energy point's."""
    point = conn.execute(_THE_POINT, {"pid": pid}).first()
    if point is None:
        return 0
    if point.source_point_id is not None:  # integrated from power: the power readings decide
        return recompute_point(conn, int(point.source_point_id), first, last, days)
    counter = point.kind == "cumulative"
    if not counter and point.derived is None:
        return 0  # other instantaneous points have no consumption
    target, target_s = (pid, point.interval_s) if counter else (int(point.derived), point.derived_s)
    # from the reading before the new ones to the one after (or the new ones' own ends)
    edge_lo = _nearest(conn, _BEFORE, pid, first) or first
    edge_hi = _nearest(conn, _AFTER, pid, last) or last
    lo_bucket = bucket_start(edge_lo)
    hi_bucket = bucket_start(edge_hi)
    rows = conn.execute(
        _READINGS, {"pid": pid, "lo_bucket": lo_bucket, "tail_from": hi_bucket + BUCKET}
    ).all()
    readings = [Reading(r.ts, r.value) for r in rows]
    # the span read: without readings there, no reading around the buckets either
    lo, hi = (rows[0].lo, rows[0].hi) if rows else (lo_bucket, hi_bucket + BUCKET)
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
    conn.execute(_CLEAR, {"pid": target, "lo": lo_bucket, "hi": hi_bucket})
    keep = [b for start, b in computed.items() if lo_bucket <= start <= hi_bucket]
    if keep:
        conn.execute(
            _WRITE,
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
        refresh_days(conn, target, target_s, (lo_bucket, hi_bucket), days)
    if counter:
        record_events(conn, pid, edge_lo, edge_hi, result)
    return len(keep)


def _counter_intervals(
    conn: Connection, pid: int, point: Any, readings: list[Reading], span: tuple[datetime, datetime]
) -> CounterResult:
    lo, hi = span
    swaps = [
        Replacement(r.ts, r.old_final, r.new_first)
        for r in conn.execute(_SWAPS, {"pid": pid, "lo": lo, "hi": hi})
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
