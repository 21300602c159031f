"""Completeness of points over a window, from the rollups: the one definition every figure uses
(services/core/domain/completeness.py: expected collection periods that hold measured data).

Per point, the periods owed run over its service span (window, commissioning, decommissioning,
now). Whole local months inside the span are read from ``consumption_1mo`` and the other whole
local days from ``consumption_1d`` (``measured_periods``, ``estimated_periods``, written by the
accounting service with the point's period; a month's are its days' sums); the rest from
``consumption_15m``, grouped by period. As for energy, the daily and monthly rows are used only
if they were built in the query's zone, checked inside the statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    Date,
    Double,
    Float,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    not_,
    select,
    true,
    union_all,
)
from sqlalchemy import Connection as _Connection
from sqlalchemy.dialects.postgresql import ARRAY

from services.core.domain.completeness import (
    Completeness,
    PointCompleteness,
    ServiceSpan,
    collection_period_s,
    combined,
    local_midnight,
)
from services.core.schema.tables import (
    consumption_1d,
    consumption_1mo,
    consumption_15m,
    meters,
    points,
)
from services.core.store.rollups import days_built, measured_bucket, whole_months
from services.core.store.scope import Scope, points_where, scope_conditions

Connection = _Connection
__all__ = [
    "Completeness",
    "PointCompleteness",
    "combined",
    "measured_bucket",
    "point_completeness",
    "point_completeness_by_day",
]
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - PostgreSQL's epoch of a wall-clock timestamp
_LONG_AGO = datetime(1900, 1, 1, tzinfo=UTC)  # no registered commissioning date
_FAR_AHEAD = datetime(2300, 1, 1, tzinfo=UTC)  # no registered decommissioning date


def period_number(bucket: Any, zone: str, period_s: Any) -> Any:
    """SQL: which of the point's periods (counted from a local midnight) a bucket belongs to."""
    wall = func.extract("epoch", func.timezone(zone, bucket))
    return cast(func.floor(wall / period_s), Integer)


def _wall(ts: datetime, zone: ZoneInfo) -> float:
    return (ts.astimezone(zone).replace(tzinfo=None) - _EPOCH).total_seconds()


@dataclass(frozen=True, slots=True)
class Owed:
    """What a point owes over a window."""

    point_id: int
    period_s: int
    span: ServiceSpan
    whole_days: tuple[date, date]  # [first, stop): local days wholly inside the span
    registered: tuple[datetime | None, datetime | None]  # its service dates' local midnights
    carrier: str = ""
    quantity: str = ""
    unit: str = ""


def _owed(row: Any, start: datetime, end: datetime, now: datetime, zone: ZoneInfo) -> Owed:
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

    def midnight(day: date | None) -> datetime | None:
        return local_midnight(day, zone) if day is not None else None

    return Owed(
        int(row.id),
        period,
        span,
        (first, max(first, stop)),
        (midnight(row.commissioned), midnight(row.decommissioned)),
        row.carrier,
        row.quantity,
        row.unit,
    )


def points_select(ids: Select[tuple[int]]) -> Select[Any]:
    """Each of the points ``ids`` with what :func:`owed_rows` needs: its period, its meter's
    service dates, its first 15-minute bucket, carrier, quantity and unit."""
    first = (
        select(func.min(consumption_15m.c.bucket).label("first"))
        .where(consumption_15m.c.point_id == points.c.id)
        .correlate(points)
        .lateral("f")
    )
    return (
        select(
            points.c.id,
            points.c.interval_s,
            meters.c.commissioned,
            meters.c.decommissioned,
            first.c.first,
            meters.c.carrier,
            points.c.quantity,
            points.c.unit,
        )
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(first, true())
        .where(points.c.id.in_(ids))
    )


def _arrays(
    name: str, columns: list[tuple[str, Any, list[Any] | None]], alias: str | None = None
) -> Any:
    """A table of parallel arrays, ``unnest``-ed: one bound parameter per column (``name_col``),
    so that the statement's compiled form is cached whatever the rows; ``alias`` (default
    ``name``) names the table, so that one statement can read the same arrays twice."""
    return (
        func.unnest(
            *(bindparam(f"{name}_{col}", data, type_=ARRAY(type_)) for col, type_, data in columns)
        )
        .table_valued(*(column(col, type_) for col, type_, _ in columns))
        .render_derived(name=alias or name)
    )


def _counts(conn: Connection, owed: list[Owed], zone: ZoneInfo) -> dict[int, tuple[int, int]]:
    """(measured, estimated) periods per point over its span: whole months from the monthly
    rows, the other whole days from the daily rows, the edges (and, when the days were built in
    another zone, the middle) from the 15-minute rows, each branch an index range per point."""
    # the whole days' bounds; without whole days both at ``hi``, so the first edge is all
    midnights = [
        tuple(local_midnight(d, zone) for d in o.whole_days)
        if o.whole_days[0] < o.whole_days[1]
        else (o.span.until + timedelta(seconds=o.period_s),) * 2
        for o in owed
    ]
    # the whole months among the whole days; without any both at ``d1``, so the days are all
    months = [whole_months(*o.whole_days) or (o.whole_days[1],) * 2 for o in owed]
    values = [
        [o.point_id for o in owed],
        [o.period_s for o in owed],
        [_wall(o.span.since, zone) for o in owed],
        [_wall(o.span.until, zone) for o in owed],
        [o.span.since for o in owed],
        # buckets of the last period that starts before ``until``
        [o.span.until + timedelta(seconds=o.period_s) for o in owed],
        [o.whole_days[0] for o in owed],
        [o.whole_days[1] for o in owed],
        [m[0] for m in midnights],
        [m[1] for m in midnights],
        [m[0] for m in months],
        [m[1] for m in months],
    ]
    params = {f"owed_{col}": d for (col, _), d in zip(_COUNT_COLUMNS, values, strict=True)}
    return {
        int(r.point_id): (int(r.measured), int(r.estimated))
        for r in conn.execute(_counts_select(zone.key), params)
    }


_COUNT_COLUMNS: list[tuple[str, Any]] = [
    ("point_id", Integer),
    ("period_s", Integer),
    ("since_wall", Double),
    ("until_wall", Double),
    ("lo", TIMESTAMP(timezone=True)),
    ("hi", TIMESTAMP(timezone=True)),
    ("d0", Date),
    ("d1", Date),
    ("m0", TIMESTAMP(timezone=True)),
    ("m1", TIMESTAMP(timezone=True)),
    ("mo0", Date),
    ("mo1", Date),
]


@lru_cache(maxsize=16)
def _counts_select(zone_key: str) -> Select[Any]:
    """:func:`_counts`' statement: the owed rows are array parameters ``owed_*``."""
    zone = ZoneInfo(zone_key)
    v = _arrays("owed", [(col, type_, None) for col, type_ in _COUNT_COLUMNS])
    built = days_built(zone)
    c15 = consumption_15m.c
    number = period_number(c15.bucket, zone.key, v.c.period_s)

    def buckets(lo: Any, hi: Any, *extra: Any) -> Any:
        # LATERAL with OFFSET 0 (so that it is not flattened into a join): an index range of
        # each point's own edge; as a join the planner hashed the points and scanned all of
        # consumption_15m (it cannot tell the edges are short): minutes at a year of data
        inside = (
            select(c15.bucket, c15.readings, c15.estimated)
            .where(
                c15.point_id == v.c.point_id,
                c15.bucket >= lo,
                c15.bucket < hi,
                cast(number, Float) * v.c.period_s >= v.c.since_wall,
                cast(number, Float) * v.c.period_s < v.c.until_wall,
            )
            .offset(0)
            .lateral("q")
        )
        return (
            select(
                v.c.point_id, inside.c.bucket, inside.c.readings, inside.c.estimated, v.c.period_s
            )
            .select_from(v)
            .join(inside, true())
            .where(*extra)
        )

    edges = union_all(
        buckets(v.c.lo, func.least(v.c.m0, v.c.hi)),
        buckets(func.greatest(v.c.m1, v.c.lo), v.c.hi, v.c.m1 > v.c.m0),
        buckets(v.c.m0, v.c.m1, not_(built)),
    ).subquery("b")
    n = period_number(edges.c.bucket, zone.key, edges.c.period_s)
    per_period = (
        select(
            edges.c.point_id,
            func.bool_or(measured_bucket(edges.c.readings, edges.c.estimated)).label("measured"),
        )
        .group_by(edges.c.point_id, n)
        .subquery("p")
    )
    from_15m = select(
        per_period.c.point_id,
        cast(per_period.c.measured, Integer).label("measured"),
        cast(not_(per_period.c.measured), Integer).label("estimated"),
    )
    c1 = consumption_1d.c

    def days(lo: Any, hi: Any) -> Any:
        return (
            select(
                c1.point_id,
                cast(c1.measured_periods, Integer).label("measured"),
                cast(c1.estimated_periods, Integer).label("estimated"),
            )
            .select_from(consumption_1d)
            .join(v, v.c.point_id == c1.point_id)
            .where(c1.day >= lo, c1.day < hi, built)
        )

    mo = consumption_1mo.c
    from_1mo = (
        select(mo.point_id, mo.measured_periods, mo.estimated_periods)
        .select_from(consumption_1mo)
        .join(v, v.c.point_id == mo.point_id)
        .where(mo.month >= v.c.mo0, mo.month < v.c.mo1, built)
    )
    u = union_all(from_15m, days(v.c.d0, v.c.mo0), from_1mo, days(v.c.mo1, v.c.d1)).subquery("u")
    return select(
        u.c.point_id,
        func.sum(u.c.measured).label("measured"),
        func.sum(u.c.estimated).label("estimated"),
    ).group_by(u.c.point_id)


def owed(
    conn: Connection,
    *,
    ids: Select[tuple[int]],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> list[Owed]:
    """What each of the points ``ids`` owes over [start, end) (``now`` default: the clock)."""
    return owed_rows(conn.execute(points_select(ids)), start=start, end=end, zone=zone, now=now)


def owed_rows(
    rows: Iterable[Any],
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> list[Owed]:
    """:func:`owed` of the rows of a :func:`points_select`."""
    when = now if now is not None else datetime.now(UTC)
    return [_owed(r, start, end, when, zone) for r in rows]


_STAMP = TIMESTAMP(timezone=True)
_OWED_COLUMNS: list[tuple[str, Any]] = [
    ("point_id", Integer),
    ("period_s", Integer),
    ("since", _STAMP),
    ("until", _STAMP),
    ("reg_since", _STAMP),
    ("reg_until", _STAMP),
    ("carrier", Text),
    ("quantity", Text),
    ("unit", Text),
]


def _owed_values(points_owed: list[Owed]) -> list[list[Any]]:
    """:data:`_OWED_COLUMNS`' arrays of ``points_owed``."""
    return [
        [o.point_id for o in points_owed],
        [o.period_s for o in points_owed],
        [o.span.since for o in points_owed],
        [o.span.until for o in points_owed],
        [o.registered[0] or _LONG_AGO for o in points_owed],
        [o.registered[1] or _FAR_AHEAD for o in points_owed],
        [o.carrier for o in points_owed],
        [o.quantity for o in points_owed],
        [o.unit for o in points_owed],
    ]


def owed_table(
    points_owed: list[Owed] | None,
    name: str,
    alias: str | None = None,
    columns: tuple[str, ...] | None = None,
) -> Any:
    """``points_owed`` as a table (point_id, period_s, since, until, reg_since, reg_until,
    carrier, quantity, unit) for a statement, passed as array parameters (the statement stays
    cacheable). ``points_owed`` None: the parameters are bound at execution
    (:func:`owed_params`), for a statement built once. ``alias``: see :func:`_arrays`;
    ``columns``: only these of the table's columns (arrays of the same length, so the rows
    stay whole)."""
    data = _owed_values(points_owed) if points_owed is not None else [None] * len(_OWED_COLUMNS)
    return _arrays(
        name,
        [
            (col, type_, d)
            for (col, type_), d in zip(_OWED_COLUMNS, data, strict=True)
            if columns is None or col in columns
        ],
        alias,
    )


def owed_ids(name: str) -> Select[tuple[int]]:
    """The ids of the points of ``owed_table(None, name)``: a statement that holds them need
    not select its points again (one array instead of the scope's joins)."""
    return select(func.unnest(bindparam(f"{name}_point_id", type_=ARRAY(Integer))))


def owed_params(points_owed: list[Owed], name: str) -> dict[str, list[Any]]:
    """The parameters of ``owed_table(None, name)`` for ``points_owed``."""
    return {
        f"{name}_{col}": d
        for (col, _), d in zip(_OWED_COLUMNS, _owed_values(points_owed), strict=True)
    }


def wall_seconds(ts: Any, zone: ZoneInfo) -> Any:
    """SQL: local wall-clock seconds of an instant (PostgreSQL's epoch of the local time)."""
    return func.extract("epoch", func.timezone(zone.key, ts))


def expected_sql(o: Any, lo: Any, hi: Any, zone: ZoneInfo) -> Any:
    """SQL of :func:`services.core.domain.completeness.expected_periods` for the point of owed
    row ``o`` over [lo, hi) within its span."""
    a = wall_seconds(func.greatest(lo, o.c.since), zone)
    b = wall_seconds(func.least(hi, o.c.until), zone)
    return func.greatest(0, func.ceil(b / o.c.period_s) - func.ceil(a / o.c.period_s))


def measured_sql(c: Any, o: Any, zone: ZoneInfo) -> Any:
    """SQL: the measured periods a window-source row ``c`` adds for the point of owed row ``o``:
    a day's own count; a 15-minute bucket counts when it starts one of the point's periods (for
    points with periods longer than 15 minutes the period's first bucket stands for it); nothing
    outside the registered service dates."""
    starts = func.mod(wall_seconds(c.c.ts, zone), o.c.period_s) == 0
    inside = and_(c.c.ts >= o.c.reg_since, c.c.ts < o.c.reg_until)
    return case((and_(starts, inside), c.c.measured), else_=0)


@lru_cache(maxsize=1)
def _listed_points() -> Select[Any]:
    """:func:`points_select` of the ids in the array parameter ``completeness_ids``."""
    ids = bindparam("completeness_ids", type_=ARRAY(Integer))
    return points_select(select(func.unnest(ids)))


@lru_cache(maxsize=64)
def owed_points_select(scope: tuple[str, ...]) -> Select[Any]:
    """:func:`points_select` of the points of a scope of shape ``scope`` (its values bound at
    execution: :meth:`Scope.params`)."""
    return points_select(points_where(scope_conditions(scope)))


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
        rows = conn.execute(_listed_points(), {"completeness_ids": list(point_ids)})
    else:
        chosen = scope or Scope()
        rows = conn.execute(owed_points_select(chosen.shape()), chosen.params())
    found = owed_rows(rows, start=start, end=end, zone=zone, now=now)
    owing = [o for o in found if o.span.since < o.span.until]
    counts = _counts(conn, owing, zone) if owing else {}
    out = {}
    for o in found:
        measured, estimated = counts.get(o.point_id, (0, 0))
        out[o.point_id] = PointCompleteness(
            o.point_id, o.span.expected(o.period_s, zone), measured, estimated
        )
    return out


def point_completeness_by_day(
    conn: Connection,
    *,
    point_ids: Iterable[int],
    first_day: date,
    days: int,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> dict[tuple[int, date], PointCompleteness]:
    """:func:`point_completeness` of each point for each of ``days`` local days from
    ``first_day``, in two reads: what each point owes a day follows from its service span, and
    what it delivered is the day's own count in ``consumption_1d``. Falls back to one call per
    day when the daily rows were built in another zone. (A test holds both ways equal.)"""
    ids = list(point_ids)
    if not ids or days <= 0:
        return {}
    day_list = [first_day + timedelta(days=n) for n in range(days)]
    edges = [local_midnight(d, zone) for d in [*day_list, first_day + timedelta(days=days)]]
    when = now if now is not None else datetime.now(UTC)
    if not conn.execute(select(days_built(zone))).scalar():
        return {
            (pid, d): c
            for d, lo, hi in zip(day_list, edges, edges[1:], strict=False)
            for pid, c in point_completeness(
                conn, start=lo, end=hi, zone=zone, point_ids=ids, now=when
            ).items()
        }
    ids_param = bindparam("completeness_day_ids", ids, type_=ARRAY(Integer))
    found = owed(
        conn, ids=select(func.unnest(ids_param)), start=edges[0], end=edges[-1], zone=zone, now=when
    )
    d = consumption_1d.c
    counts = {
        (int(r.point_id), r.day): (int(r.measured_periods), int(r.estimated_periods))
        for r in conn.execute(
            select(d.point_id, d.day, d.measured_periods, d.estimated_periods).where(
                d.point_id == func.any(ids_param),
                d.day >= day_list[0],
                d.day <= day_list[-1],
            )
        )
    }
    out = {}
    for o in found:
        for day, lo, hi in zip(day_list, edges, edges[1:], strict=False):
            expected = ServiceSpan(max(o.span.since, lo), min(o.span.until, hi)).expected(
                o.period_s, zone
            )
            measured, estimated = counts.get((o.point_id, day), (0, 0))
            out[(o.point_id, day)] = PointCompleteness(
                o.point_id, expected, min(measured, expected), min(estimated, expected)
            )
    return out
