"""Completeness per point: the share of expected 15-minute intervals that hold data.

PROVISIONAL: this version is computed from today's ``consumption_15m`` columns so that the
data-quality report, the balance and the quality alerts can be built against the interface; the
completeness work (issue 15, part A) replaces this file with the one definition (commissioning
and decommissioning dates, hourly and daily meters counting their own periods). Keep callers to
the interface: :func:`point_completeness` and :class:`PointCompleteness`.

Here: expected = the 15-minute intervals from the later of ``start`` and the point's first bucket
(its commissioning, as far as the data tells) to the earlier of ``end`` and ``now``; measured =
those holding at least one reading; estimated = those holding only gap-filled energy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    DateTime,
    ScalarSelect,
    and_,
    func,
    literal,
    select,
)

from services.core.domain.buckets import bucket_start
from services.core.schema.tables import consumption_15m, points
from services.core.store.ids import among
from services.core.store.rollups import midnight
from services.core.store.scope import Scope, scoped_points

INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class PointCompleteness:
    point_id: int
    expected: int
    measured: int
    estimated: int

    @property
    def share(self) -> float:
        """Measured intervals over expected ones (1.0 when none were expected)."""
        return min(1.0, self.measured / self.expected) if self.expected else 1.0

    @property
    def estimated_share(self) -> float:
        return min(1.0, self.estimated / self.expected) if self.expected else 0.0


def _expected(first: datetime | None, *, start: datetime, end: datetime, now: datetime) -> int:
    if first is None:
        return 0
    lo = max(bucket_start(start), first)
    hi = min(end, now)
    if hi <= lo:
        return 0
    return math.ceil((hi - lo) / INTERVAL)


def point_completeness(
    conn: Connection,
    *,
    point_ids: Sequence[int] | None = None,
    start: datetime,
    end: datetime,
    now: datetime,
    scope: Scope | None = None,
) -> dict[int, PointCompleteness]:
    """Completeness of each cumulative point in ``point_ids`` (or in ``scope``; or every active
    cumulative point) over [start, end), as of ``now``."""
    chosen = select(points.c.id).where(points.c.kind == "cumulative")
    if point_ids is not None:
        chosen = chosen.where(among(points.c.id, point_ids))
    elif scope is not None:
        chosen = scoped_points(scope, points.c.kind == "cumulative")
    else:
        chosen = chosen.where(points.c.active)
    ids = chosen.subquery()
    first = _first_bucket(ids.c.id)
    c = consumption_15m.c
    counts = (
        select(
            c.point_id,
            func.count().filter(c.readings > 0).label("measured"),
            func.count().filter(and_(c.readings == 0, c.estimated)).label("estimated"),
        )
        .where(
            # the caller's ids as an array: per-point range scans of the primary key for a short
            # window (a semi-join over a subquery made the planner scan the whole table)
            among(c.point_id, point_ids)
            if point_ids is not None
            else c.point_id.in_(select(ids.c.id)),
            c.bucket >= bucket_start(start),
            c.bucket < min(end, now),
        )
        .group_by(c.point_id)
        .subquery()
    )
    stmt = select(
        ids.c.id,
        first.label("first"),
        func.coalesce(counts.c.measured, 0).label("measured"),
        func.coalesce(counts.c.estimated, 0).label("estimated"),
    ).outerjoin(counts, counts.c.point_id == ids.c.id)
    out = {}
    for r in conn.execute(stmt):
        expected = _expected(r.first, start=start, end=end, now=now)
        out[int(r.id)] = PointCompleteness(
            point_id=int(r.id),
            expected=expected,
            measured=min(int(r.measured), expected),
            estimated=min(int(r.estimated), expected),
        )
    return out


def point_completeness_by_day(
    conn: Connection,
    *,
    point_ids: Sequence[int],
    first_day: date,
    days: int,
    zone: ZoneInfo,
    now: datetime,
) -> dict[tuple[int, date], PointCompleteness]:
    """:func:`point_completeness` of each point for each of ``days`` local days from
    ``first_day``, in one pass: for every day it equals ``point_completeness(start=midnight,
    end=next midnight)`` (a test holds the two equal). Proposed as part of the interface: the
    meter balance judges each day, and one call per day costs a scan per day."""
    if not point_ids:
        return {}
    c = consumption_15m.c
    ids = list(point_ids)
    start = midnight(first_day, zone)
    end = midnight(first_day + timedelta(days=days), zone)
    first = {
        int(r.point_id): r.first
        for r in conn.execute(
            select(points.c.id.label("point_id"), _first_bucket(points.c.id).label("first")).where(
                among(points.c.id, ids)
            )
        )
    }
    # each bucket's local day by binary search over the days' midnights (DST-proof, and much
    # cheaper per row than converting every bucket to local time)
    midnights = [midnight(first_day + timedelta(days=n), zone) for n in range(days + 1)]
    nth = func.width_bucket(c.bucket, literal(midnights, ARRAY(DateTime(timezone=True)))).label(
        "nth"
    )
    per_day = (
        select(
            c.point_id,
            nth,
            func.count().filter(c.readings > 0).label("measured"),
            func.count().filter(and_(c.readings == 0, c.estimated)).label("estimated"),
        )
        .where(among(c.point_id, ids), c.bucket >= start, c.bucket < min(end, now))
        .group_by(c.point_id, nth)
        .subquery()
    )
    # one row per point (its days as arrays): tens of thousands of rows cost more to fetch
    counts: dict[tuple[int, date], tuple[int, int]] = {}
    for r in conn.execute(
        select(
            per_day.c.point_id,
            func.array_agg(per_day.c.nth).label("nth"),
            func.array_agg(per_day.c.measured).label("measured"),
            func.array_agg(per_day.c.estimated).label("estimated"),
        ).group_by(per_day.c.point_id)
    ):
        for n, m, e in zip(r.nth, r.measured, r.estimated, strict=True):
            counts[(int(r.point_id), first_day + timedelta(days=int(n) - 1))] = (int(m), int(e))
    # expected intervals per day in plain seconds: this runs for every point and day
    step = INTERVAL.total_seconds()
    cap = min(end, now).timestamp()
    edges = [m.timestamp() for m in midnights]
    out = {}
    for pid in ids:
        f = first.get(pid)
        begin = f.timestamp() if f is not None else None
        for n in range(days):
            d = first_day + timedelta(days=n)
            expected = 0
            if begin is not None:
                lo = max(edges[n] - edges[n] % step, begin)
                hi = min(edges[n + 1], cap)
                expected = math.ceil((hi - lo) / step) if hi > lo else 0
            measured, estimated = counts.get((pid, d), (0, 0))
            out[(pid, d)] = PointCompleteness(
                point_id=pid,
                expected=expected,
                measured=min(measured, expected),
                estimated=min(estimated, expected),
            )
    return out


def _first_bucket(point_id: ColumnElement[int]) -> ScalarSelect[datetime]:
    """The point's first 15-minute bucket: its commissioning, as far as the data tells."""
    return (
        select(func.min(consumption_15m.c.bucket))
        .where(consumption_15m.c.point_id == point_id)
        .scalar_subquery()
    )
