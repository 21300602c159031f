"""How every consumption query reads the rollups: a window source.

A window source yields ``(point_id, ts, energy, estimated, measured)`` rows
(``measured``: the 15-minute bucket holds measured data, 1 or 0; a day: its measured collection
periods, services/core/domain/completeness.py) whose sums
over any point equal those of ``consumption_15m`` in [start, end): whole local days from
``consumption_1d`` (``ts`` at the day's local midnight), the partial days at either edge from
``consumption_15m`` (``ts`` at the bucket's start) — the same sums from ~96 times fewer rows.
A caller whose periods are months or longer may also ask for whole local months from
``consumption_1mo`` (``ts`` at the month's first local midnight; the days summed by the same
transaction that wrote them), with whole days only beside them: a year is then ~12 rows a point
instead of ~365. Whole days and months come from the daily and monthly rollups only if they
were built in the query's zone (``rollup_meta.days_zone``, which both follow); otherwise from the
15-minute rows. That check is part of the statement (a one-time filter on each branch), so an
answer never rests on an earlier look at ``rollup_meta`` and costs no round trip of its own.

Every branch names the caller's points (``points``, a subquery of point ids), so each reads its
table's ``(point_id, time)`` primary key instead of scanning the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    ColumnElement,
    Connection,
    Date,
    Integer,
    Select,
    Subquery,
    Table,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)

from services.core.schema.tables import (
    consumption_1d,
    consumption_1mo,
    consumption_15m,
    rollup_meta,
)


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
    lo: Any, hi: Any, points: Select[tuple[int]] | None, *extra: ColumnElement[bool]
) -> Select[tuple[int, datetime, float, bool, int]]:
    c = consumption_15m.c
    conds = [c.bucket >= lo, c.bucket < hi, *extra]
    if points is not None:
        conds.append(c.point_id.in_(points))
    return select(
        c.point_id,
        c.bucket.label("ts"),
        c.energy,
        c.estimated,
        cast(measured_bucket(c.readings, c.estimated), Integer).label("measured"),
    ).where(and_(*conds))


def _from_calendar(
    table: Table, lo: Any, hi: Any, zone: ZoneInfo, points: Select[tuple[int]] | None
) -> Select[tuple[int, datetime, float, bool, int]]:
    """The rows of the daily or monthly rollups (``table``, keyed by its local first day) in
    [lo, hi); the months are summed from the days, so both hold in the days' zone."""
    c = table.c
    first_day = c.day if table is consumption_1d else c.month
    conds = [first_day >= lo, first_day < hi]
    if points is not None:
        conds.append(c.point_id.in_(points))
    conds.append(days_built(zone))
    # (day::timestamp AT TIME ZONE zone): the local midnight as an instant
    ts = func.timezone(zone.key, cast(first_day, TIMESTAMP(timezone=False)))
    return select(
        c.point_id,
        ts.label("ts"),
        c.energy,
        c.estimated,
        cast(c.measured_periods, Integer).label("measured"),
    ).where(and_(*conds))


def _from_1d(
    d0: Any, d1: Any, zone: ZoneInfo, points: Select[tuple[int]] | None
) -> Select[tuple[int, datetime, float, bool, int]]:
    return _from_calendar(consumption_1d, d0, d1, zone, points)


def _from_1mo(
    m0: Any, m1: Any, zone: ZoneInfo, points: Select[tuple[int]] | None
) -> Select[tuple[int, datetime, float, bool, int]]:
    return _from_calendar(consumption_1mo, m0, m1, zone, points)


@dataclass(frozen=True, slots=True)
class WindowShape:
    """Which branches a window source has: ``zone`` None, the 15-minute rows only; else whole
    days of ``zone`` and, if ``head``/``tail``, the partial day at the start/end; ``months``:
    the whole months among the whole days from the monthly rollups."""

    zone: str | None = None
    head: bool = False
    tail: bool = False
    months: bool = False


def first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def whole_months(first: date, stop: date) -> tuple[date, date] | None:
    """The local months wholly inside the days [first, stop), as [first day, first day after),
    or None if there is none."""
    m0 = first if first.day == 1 else first_of_next_month(first)
    m1 = stop.replace(day=1)
    return (m0, m1) if m0 < m1 else None


def window_plan(
    start: datetime, end: datetime, zone: ZoneInfo | None, *, months: bool = False
) -> tuple[WindowShape, dict[str, Any]]:
    """The shape of [start, end)'s window source and the values of its parameters (``months``:
    read whole local months from the monthly rollups, for periods of a month or longer)."""
    bounds: dict[str, Any] = {"w_start": start, "w_end": end}
    if zone is None:
        return WindowShape(), bounds
    first = start.astimezone(zone).date()
    if midnight(first, zone) < start:
        first += timedelta(days=1)
    stop = end.astimezone(zone).date()  # days before the local day holding ``end``
    if stop <= first:
        return WindowShape(), bounds
    mid0, mid1 = midnight(first, zone), midnight(stop, zone)
    days = {"w_d0": first, "w_d1": stop, "w_mid0": mid0, "w_mid1": mid1}
    span = whole_months(first, stop) if months else None
    if span is not None:
        days |= {"w_m0": span[0], "w_m1": span[1]}
    shape = WindowShape(zone.key, head=mid0 > start, tail=mid1 < end, months=span is not None)
    return shape, bounds | days


_STAMP = TIMESTAMP(timezone=True)
_PARAM_TYPES: dict[str, Any] = {key: Date() for key in ("w_d0", "w_d1", "w_m0", "w_m1")}


def shaped_window_source(
    shape: WindowShape, points: Select[tuple[int]] | None, values: dict[str, Any] | None = None
) -> Subquery:
    """The window source of ``shape`` with its bounds as parameters ``w_*``, bound to ``values``
    if given (each bound parameter unique: a statement may hold several windows), else at
    execution (a statement built once per shape: see :func:`window_plan`)."""

    def p(key: str) -> Any:
        type_ = _PARAM_TYPES.get(key, _STAMP)
        if values is None:
            return bindparam(key, type_=type_)
        return bindparam(key, values[key], type_=type_, unique=True)  # one of several windows

    if shape.zone is None:
        return _from_15m(p("w_start"), p("w_end"), points).subquery("c")
    zone = ZoneInfo(shape.zone)
    if shape.months:  # days [d0, m0), months [m0, m1), days [m1, d1)
        branches = [
            _from_1mo(p("w_m0"), p("w_m1"), zone, points),
            _from_1d(p("w_d0"), p("w_m0"), zone, points),
            _from_1d(p("w_m1"), p("w_d1"), zone, points),
        ]
    else:
        branches = [_from_1d(p("w_d0"), p("w_d1"), zone, points)]
    branches.append(_from_15m(p("w_mid0"), p("w_mid1"), points, not_(days_built(zone))))
    if shape.head:  # the partial day at the start
        branches.append(_from_15m(p("w_start"), p("w_mid0"), points))
    if shape.tail:  # the partial day at the end
        branches.append(_from_15m(p("w_mid1"), p("w_end"), points))
    return union_all(*branches).subquery("c")


def window_source(
    start: datetime,
    end: datetime,
    zone: ZoneInfo | None,
    points: Select[tuple[int]] | None = None,
    *,
    months: bool = False,
) -> Subquery:
    """The rows of [start, end) as described above. ``zone`` None: the 15-minute rows only
    (periods shorter than a day); ``points``: the caller's point ids (without it, every point);
    ``months``: whole months from the monthly rollups."""
    shape, values = window_plan(start, end, zone, months=months)
    return shaped_window_source(shape, points, values)
