"""How every consumption query reads the rollups: a window source.

A window source yields ``(point_id, ts, energy, readings, expected, estimated, measured)`` rows
(``measured``: the 15-minute bucket holds measured data, 1 or 0; a day: its measured collection
periods, services/core/domain/completeness.py) whose sums
over any point equal those of ``consumption_15m`` in [start, end): whole local days from
``consumption_1d`` (``ts`` at the day's local midnight), the partial days at either edge from
``consumption_15m`` (``ts`` at the bucket's start) — the same sums from ~96 times fewer rows.
Whole days come from ``consumption_1d`` only if it was built in the query's zone
(``rollup_meta.days_zone``); otherwise from the 15-minute rows. That check is part of the
statement (a one-time filter on each branch), so an answer never rests on an earlier look at
``rollup_meta`` and costs no round trip of its own.

Every branch names the caller's points (``points``, a subquery of point ids), so each reads its
table's ``(point_id, time)`` primary key instead of scanning the whole table.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    ColumnElement,
    Connection,
    Integer,
    Select,
    Subquery,
    and_,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)

from services.core.schema.tables import consumption_1d, consumption_15m, rollup_meta

WINDOW_COLUMNS = ("point_id", "ts", "energy", "readings", "expected", "estimated", "measured")


def measured_bucket(readings: Any, estimated: Any) -> Any:
    """SQL of :func:`services.core.domain.completeness.bucket_measured`."""
    return or_(readings > 0, not_(estimated))


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def days_zone(conn: Connection) -> str | None:
    """The zone ``consumption_1d`` was built in (None: no daily rollups)."""
    value = conn.execute(
        select(rollup_meta.c.value).where(rollup_meta.c.key == "days_zone")
    ).scalar()
    return str(value) if value is not None else None


def days_built(zone: ZoneInfo) -> ColumnElement[bool]:
    """SQL: ``consumption_1d`` was built in ``zone`` (a one-time filter of a statement)."""
    return exists(
        select(literal(1)).where(rollup_meta.c.key == "days_zone", rollup_meta.c.value == zone.key)
    )


def _from_15m(
    lo: datetime, hi: datetime, points: Select[tuple[int]] | None, *extra: ColumnElement[bool]
) -> Select[tuple[int, datetime, float, int, int, bool, int]]:
    c = consumption_15m.c
    conds = [c.bucket >= lo, c.bucket < hi, *extra]
    if points is not None:
        conds.append(c.point_id.in_(points))
    return select(
        c.point_id,
        c.bucket.label("ts"),
        c.energy,
        cast(c.readings, Integer).label("readings"),
        cast(c.expected, Integer).label("expected"),
        c.estimated,
        cast(measured_bucket(c.readings, c.estimated), Integer).label("measured"),
    ).where(and_(*conds))


def _from_1d(
    d0: date, d1: date, zone: ZoneInfo, points: Select[tuple[int]] | None
) -> Select[tuple[int, datetime, float, int, int, bool, int]]:
    c = consumption_1d.c
    conds = [c.day >= d0, c.day < d1]
    if points is not None:
        conds.append(c.point_id.in_(points))
    conds.append(days_built(zone))
    # (day::timestamp AT TIME ZONE zone): the local midnight as an instant
    ts = func.timezone(zone.key, cast(c.day, TIMESTAMP(timezone=False)))
    return select(
        c.point_id,
        ts.label("ts"),
        c.energy,
        c.readings,
        c.expected,
        c.estimated,
        cast(c.measured_periods, Integer).label("measured"),
    ).where(and_(*conds))


def fifteen_minute_source(
    start: datetime, end: datetime, points: Select[tuple[int]] | None = None
) -> Subquery:
    """The window-source columns straight from ``consumption_15m``."""
    return _from_15m(start, end, points).subquery("c")


def window_source(
    start: datetime,
    end: datetime,
    zone: ZoneInfo | None,
    points: Select[tuple[int]] | None = None,
) -> Subquery:
    """The rows of [start, end) as described above. ``zone`` None: the 15-minute rows only
    (periods shorter than a day); ``points``: the caller's point ids (without it, every point)."""
    if zone is None:
        return fifteen_minute_source(start, end, points)
    first = start.astimezone(zone).date()
    if midnight(first, zone) < start:
        first += timedelta(days=1)
    stop = end.astimezone(zone).date()  # days before the local day holding ``end``
    if stop <= first:
        return fifteen_minute_source(start, end, points)
    mid0, mid1 = midnight(first, zone), midnight(stop, zone)
    branches = [
        _from_1d(first, stop, zone, points),
        _from_15m(mid0, mid1, points, not_(days_built(zone))),
    ]
    if mid0 > start:  # the partial day at the start
        branches.append(_from_15m(start, mid0, points))
    if mid1 < end:  # the partial day at the end
        branches.append(_from_15m(mid1, end, points))
    return union_all(*branches).subquery("c")
