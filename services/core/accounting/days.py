"""Reading the daily rollups: ``consumption_1d`` is ``consumption_15m`` summed per local calendar
day.

The accounting service writes them (``services/accounting/days.py``), a point's days in the same
transaction as its 15-minute buckets, so the two never disagree. The zone the days were built in
is recorded in ``rollup_meta`` (``days_zone``); queries in another zone, or after
``ENERGYMON_TIMEZONE`` changed until ``energymon accounting rebuild-days`` ran, read the 15-minute
rows instead. :func:`window_source` is how every long-window query reads consumption: whole local
days from ``consumption_1d`` and the partial days at either edge from ``consumption_15m`` — the
same sums, ~96 times fewer rows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

# Columns every window source yields: ts is the bucket start, or a day's local midnight.
_FROM_15M = """SELECT point_id, bucket AS ts, energy, readings::int AS readings,
           expected::int AS expected, estimated
    FROM consumption_15m"""
_FROM_1D = """SELECT point_id, (day::timestamp AT TIME ZONE :w_zone) AS ts, energy, readings,
           expected, estimated
    FROM consumption_1d"""

_DAYS_BUILT = "EXISTS (SELECT FROM rollup_meta WHERE key = 'days_zone' AND value = :w_zone)"


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def days_zone(conn: Connection) -> str | None:
    """The zone ``consumption_1d`` was built in (None: no daily rollups)."""
    value = conn.execute(text("SELECT value FROM rollup_meta WHERE key = 'days_zone'")).scalar()
    return str(value) if value is not None else None


def _only(points: str | None) -> str:
    """The branch condition restricting rows to the caller's points: every branch names them, so
    each reads its table's (point_id, time) primary key instead of scanning the whole table."""
    return f" AND point_id IN ({points})" if points else ""


def fifteen_minute_source(
    start: datetime, end: datetime, points: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The :func:`window_source` columns straight from ``consumption_15m``."""
    sql = f"{_FROM_15M} WHERE bucket >= :w_start AND bucket < :w_end{_only(points)}"
    return f"({sql})", {"w_start": start, "w_end": end}


def window_source(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    points: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """A subquery of (point_id, ts, energy, readings, expected, estimated) rows whose sums over
    any point equal those of ``consumption_15m`` in [start, end), plus its parameters. Rows of
    whole local days have ts at the day's midnight, other rows their bucket's start.
    ``points``: a subquery of the point ids the caller will read (its parameters are the
    caller's); without it every point's rows are in the subquery."""
    first = start.astimezone(zone).date()
    if midnight(first, zone) < start:
        first += timedelta(days=1)
    stop = end.astimezone(zone).date()  # days before the local day holding ``end``
    if stop <= first:
        return fifteen_minute_source(start, end, points)
    only = _only(points)
    params: dict[str, Any] = {
        "w_start": start,
        "w_end": end,
        "w_zone": zone.key,
        "w_d0": first,
        "w_d1": stop,
        "w_mid0": midnight(first, zone),
        "w_mid1": midnight(stop, zone),
    }
    # Whole days come from consumption_1d if it was built in this zone, else from the 15-minute
    # rows: the check is part of the statement (a one-time filter on each branch), so the
    # answer never rests on an earlier look at rollup_meta and costs no round trip of its own.
    branches = [
        f"{_FROM_1D} WHERE day >= :w_d0 AND day < :w_d1{only} AND {_DAYS_BUILT}",
        f"{_FROM_15M} WHERE bucket >= :w_mid0 AND bucket < :w_mid1{only} AND NOT {_DAYS_BUILT}",
    ]
    if params["w_mid0"] > start:  # the partial day at the start
        branches.append(f"{_FROM_15M} WHERE bucket >= :w_start AND bucket < :w_mid0{only}")
    if params["w_mid1"] < end:  # the partial day at the end
        branches.append(f"{_FROM_15M} WHERE bucket >= :w_mid1 AND bucket < :w_end{only}")
    return "(" + "\n    UNION ALL\n    ".join(branches) + ")", params
