"""Completeness of points over a window, from the rollups: the one definition every figure uses
(services/core/domain/completeness.py: expected collection periods that hold measured data).

Per point, the periods owed run over its service span (window, commissioning, decommissioning,
now). Whole local days inside the span are read from ``consumption_1d`` (``measured_periods``,
``estimated_periods``, written by the accounting service with the point's period); the rest from
``consumption_15m``, grouped by period. As for energy, the daily rows are used only if they were
built in the query's zone, checked inside the statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    Date,
    Double,
    Float,
    Integer,
    Select,
    and_,
    cast,
    column,
    func,
    not_,
    or_,
    select,
    true,
    union_all,
    values,
)
from sqlalchemy import Connection as _Connection

from services.core.domain.completeness import (
    Completeness,
    PointCompleteness,
    ServiceSpan,
    collection_period_s,
    combined,
    local_midnight,
)
from services.core.schema.tables import consumption_1d, consumption_15m, meters, points
from services.core.store.rollups import days_built
from services.core.store.scope import Scope, scoped_points

Connection = _Connection
__all__ = ["Completeness", "PointCompleteness", "combined", "point_completeness"]
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - PostgreSQL's epoch of a wall-clock timestamp


def measured_bucket(readings: Any, estimated: Any) -> Any:
    """SQL of :func:`services.core.domain.completeness.bucket_measured`."""
    return or_(readings > 0, not_(estimated))


def period_number(bucket: Any, zone: str, period_s: Any) -> Any:
    """SQL: which of the point's periods (counted from a local midnight) a bucket belongs to."""
    wall = func.extract("epoch", func.timezone(zone, bucket))
    return cast(func.floor(wall / period_s), Integer)


def _wall(ts: datetime, zone: ZoneInfo) -> float:
    return (ts.astimezone(zone).replace(tzinfo=None) - _EPOCH).total_seconds()


@dataclass(frozen=True, slots=True)
class _Owed:
    point_id: int
    period_s: int
    span: ServiceSpan
    whole_days: tuple[date, date]  # [first, stop): local days wholly inside the span


def _owed(row: Any, start: datetime, end: datetime, now: datetime, zone: ZoneInfo) -> _Owed:
    period = collection_period_s(int(row.interval_s))
    span = ServiceSpan.of(
        start=start,
        end=end,
        now=now,
        zone=zone,
        period_s=period,
        first_data=row.first,
        commissioned=row.commissioned,
        decommissioned=row.decommissioned,
    )
    first = span.since.astimezone(zone).date()
    if local_midnight(first, zone) < span.since:
        first += timedelta(days=1)
    stop = span.until.astimezone(zone).date()
    return _Owed(int(row.id), period, span, (first, max(first, stop)))


def _points(conn: Connection, ids: Select[tuple[int]]) -> list[Any]:
    first = (
        select(func.min(consumption_15m.c.bucket).label("first"))
        .where(consumption_15m.c.point_id == points.c.id)
        .correlate(points)
        .lateral("f")
    )
    stmt = (
        select(
            points.c.id,
            points.c.interval_s,
            meters.c.commissioned,
            meters.c.decommissioned,
            first.c.first,
        )
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(first, true())
        .where(points.c.id.in_(ids))
    )
    return list(conn.execute(stmt))


def _counts(conn: Connection, owed: list[_Owed], zone: ZoneInfo) -> dict[int, tuple[int, int]]:
    """(measured, estimated) periods per point over its span."""
    v = (
        values(
            column("point_id", Integer),
            column("period_s", Integer),
            column("since_wall", Double),
            column("until_wall", Double),
            column("lo", consumption_15m.c.bucket.type),
            column("hi", consumption_15m.c.bucket.type),
            column("d0", Date),
            column("d1", Date),
            name="owed",
        )
        .data(
            [
                (
                    o.point_id,
                    o.period_s,
                    _wall(o.span.since, zone),
                    _wall(o.span.until, zone),
                    o.span.since,
                    # buckets of the last period that starts before ``until``
                    o.span.until + timedelta(seconds=o.period_s),
                    *o.whole_days,
                )
                for o in owed
            ]
        )
        .alias("owed")
    )
    built = days_built(zone)
    c15 = consumption_15m.c
    number = period_number(c15.bucket, zone.key, v.c.period_s)
    in_whole_days = and_(
        c15.bucket >= func.timezone(zone.key, cast(v.c.d0, TIMESTAMP(timezone=False))),
        c15.bucket < func.timezone(zone.key, cast(v.c.d1, TIMESTAMP(timezone=False))),
    )
    per_period = (
        select(
            c15.point_id,
            number.label("n"),
            func.bool_or(measured_bucket(c15.readings, c15.estimated)).label("measured"),
        )
        .select_from(consumption_15m)
        .join(v, v.c.point_id == c15.point_id)
        .where(
            c15.bucket >= v.c.lo,
            c15.bucket < v.c.hi,
            or_(not_(built), not_(in_whole_days)),
            cast(number, Float) * v.c.period_s >= v.c.since_wall,
            cast(number, Float) * v.c.period_s < v.c.until_wall,
        )
        .group_by(c15.point_id, number)
        .subquery("p")
    )
    from_15m = select(
        per_period.c.point_id,
        cast(per_period.c.measured, Integer).label("measured"),
        cast(not_(per_period.c.measured), Integer).label("estimated"),
    )
    c1 = consumption_1d.c
    from_1d = (
        select(c1.point_id, c1.measured_periods, c1.estimated_periods)
        .select_from(consumption_1d)
        .join(v, v.c.point_id == c1.point_id)
        .where(c1.day >= v.c.d0, c1.day < v.c.d1, built)
    )
    u = union_all(from_15m, from_1d).subquery("u")
    stmt = select(
        u.c.point_id,
        func.sum(u.c.measured).label("measured"),
        func.sum(u.c.estimated).label("estimated"),
    ).group_by(u.c.point_id)
    return {int(r.point_id): (int(r.measured), int(r.estimated)) for r in conn.execute(stmt)}


def point_completeness(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    point_ids: Iterable[int] | None = None,
    scope: Scope | None = None,
    now: datetime | None = None,
) -> dict[int, PointCompleteness]:
    """Completeness over [start, end) of the points ``point_ids`` (or those ``scope`` selects),
    by point id; ``now`` (default: the clock) ends what is owed."""
    if point_ids is not None:
        ids: Select[tuple[int]] = select(
            values(column("id", Integer), name="ids").data([(i,) for i in point_ids] or [(-1,)])
        )
    else:
        ids = scoped_points(scope or Scope())
    when = now if now is not None else datetime.now(UTC)
    owed = [_owed(r, start, end, when, zone) for r in _points(conn, ids)]
    owing = [o for o in owed if o.span.since < o.span.until]
    counts = _counts(conn, owing, zone) if owing else {}
    out = {}
    for o in owed:
        measured, estimated = counts.get(o.point_id, (0, 0))
        out[o.point_id] = PointCompleteness(
            o.point_id, o.span.expected(o.period_s, zone), measured, estimated
        )
    return out
