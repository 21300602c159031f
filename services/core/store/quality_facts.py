"""The raw facts of the data-quality report, per point or enterprise over a window: the
registry's points, each point's last reading, counter events, late readings, conflicting
re-sends and dead letters. Judging them is services/core/store/quality_report.py's job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from services.core.schema.tables import (
    counter_events,
    dead_letters,
    enterprises,
    meters,
    points,
    reading_conflicts,
    readings,
    sites,
)
from services.core.store.ids import among


@dataclass(frozen=True, slots=True)
class PointRow:
    point_id: int
    enterprise_id: int
    enterprise: str
    name: str
    town: str
    site: str
    meter_id: int
    meter: str
    role: str
    quantity: str
    unit: str
    cumulative: bool
    interval_s: int
    last_reading: datetime | None  # before the window's end (or now)


@dataclass(frozen=True, slots=True)
class Lateness:
    late: int  # readings received more than the threshold after their timestamp
    worst_s: float  # the longest delay among them


@dataclass(frozen=True, slots=True)
class Conflict:
    point_id: int
    ts: datetime
    first_value: float
    new_value: float
    source: int
    received_at: datetime
    first_received_at: datetime


def registry_points(conn: Connection, *, enterprise: str | None, until: datetime) -> list[PointRow]:
    """Every active point of the enterprise (or the district), with its last reading before
    ``until`` (one primary-key probe per point)."""
    last = (
        select(func.max(readings.c.ts))
        .where(readings.c.point_id == points.c.id, readings.c.ts < until)
        .scalar_subquery()
    )
    stmt = (
        select(
            points.c.id,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            enterprises.c.name,
            enterprises.c.town,
            sites.c.code.label("site"),
            meters.c.id.label("meter_id"),
            meters.c.code.label("meter"),
            meters.c.role,
            points.c.quantity,
            points.c.unit,
            points.c.kind,
            points.c.interval_s,
            points.c.source_point_id,
            last.label("last_reading"),
        )
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(enterprises.c.active, meters.c.active, points.c.active)
        .order_by(enterprises.c.code, sites.c.code, meters.c.code, points.c.quantity)
    )
    if enterprise is not None:
        stmt = stmt.where(enterprises.c.code == enterprise)
    return [
        PointRow(
            point_id=r.id,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            name=r.name,
            town=r.town,
            site=r.site,
            meter_id=r.meter_id,
            meter=r.meter,
            role=r.role,
            quantity=r.quantity,
            unit=r.unit,
            cumulative=r.kind == "cumulative",
            interval_s=r.interval_s,
            last_reading=r.last_reading,
        )
        for r in conn.execute(stmt)
        if r.source_point_id is None  # integrated from power: it takes no readings of its own
    ]


def counter_event_counts(
    conn: Connection, *, point_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Counter events (resets, rollovers, excluded spikes, unexplained drops, bad reads) whose
    interval ends in [start, end), per point and kind."""
    stmt = (
        select(counter_events.c.point_id, counter_events.c.kind, func.count().label("n"))
        .where(
            among(counter_events.c.point_id, point_ids),
            counter_events.c.ts >= start,
            counter_events.c.ts < end,
        )
        .group_by(counter_events.c.point_id, counter_events.c.kind)
    )
    out: dict[int, dict[str, int]] = {}
    for r in conn.execute(stmt):
        out.setdefault(int(r.point_id), {})[r.kind] = int(r.n)
    return out


def late_readings(
    conn: Connection,
    *,
    point_ids: Sequence[int],
    start: datetime,
    end: datetime,
    after: timedelta,
) -> dict[int, Lateness]:
    """Readings timed in [start, end) that arrived more than ``after`` after their timestamp."""
    delay = func.extract("epoch", readings.c.received_at - readings.c.ts)
    stmt = (
        select(readings.c.point_id, func.count().label("late"), func.max(delay).label("worst"))
        .where(
            among(readings.c.point_id, point_ids),
            readings.c.ts >= start,
            readings.c.ts < end,
            readings.c.received_at > readings.c.ts + after,
        )
        .group_by(readings.c.point_id)
    )
    return {
        int(r.point_id): Lateness(late=int(r.late), worst_s=float(r.worst))
        for r in conn.execute(stmt)
    }


def conflicts(
    conn: Connection, *, point_ids: Sequence[int], start: datetime, end: datetime
) -> list[Conflict]:
    """Re-sends with another value than the stored one, for readings timed in [start, end)."""
    c = reading_conflicts.c
    stmt = (
        select(
            c.point_id,
            c.ts,
            c.first_value,
            c.new_value,
            c.source,
            c.received_at,
            c.first_received_at,
        )
        .where(among(c.point_id, point_ids), c.ts >= start, c.ts < end)
        .order_by(c.point_id, c.ts, c.id)
    )
    return [
        Conflict(
            point_id=r.point_id,
            ts=r.ts,
            first_value=r.first_value,
            new_value=r.new_value,
            source=r.source,
            received_at=r.received_at,
            first_received_at=r.first_received_at,
        )
        for r in conn.execute(stmt)
    ]


def dead_letter_counts(
    conn: Connection, *, start: datetime, end: datetime, enterprise: str | None
) -> dict[str | None, dict[str, int]]:
    """Dead letters received in [start, end) per enterprise code (as the message named it: None
    or an unregistered code when the topic named none or a wrong one) and reason."""
    stmt = (
        select(dead_letters.c.enterprise_code, dead_letters.c.reason, func.count().label("n"))
        .where(dead_letters.c.received_at >= start, dead_letters.c.received_at < end)
        .group_by(dead_letters.c.enterprise_code, dead_letters.c.reason)
    )
    if enterprise is not None:
        stmt = stmt.where(dead_letters.c.enterprise_code == enterprise)
    out: dict[str | None, dict[str, int]] = {}
    for r in conn.execute(stmt):
        out.setdefault(r.enterprise_code, {})[r.reason] = int(r.n)
    return out
