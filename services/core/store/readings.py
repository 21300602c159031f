"""Raw readings of one point as stored: the point's unit, before the meter multiplier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from services.core.schema.tables import meters, points, readings


@dataclass(frozen=True, slots=True)
class PointRef:
    id: int
    unit: str


@dataclass(frozen=True, slots=True)
class Reading:
    ts: datetime
    value: float


def point_of(conn: Connection, *, enterprise_id: int, meter: str, quantity: str) -> PointRef | None:
    """The point ``quantity`` of the enterprise's meter ``meter``, active or not."""
    row = conn.execute(
        select(points.c.id, points.c.unit)
        .join(meters, meters.c.id == points.c.meter_id)
        .where(
            meters.c.enterprise_id == enterprise_id,
            meters.c.code == meter,
            points.c.quantity == quantity,
        )
    ).first()
    return None if row is None else PointRef(row.id, row.unit)


def readings_page(
    conn: Connection,
    *,
    point_id: int,
    start: datetime,
    end: datetime,
    limit: int,
    after: datetime | None = None,
) -> list[Reading]:
    """Up to ``limit`` readings of the point in [start, end) by time, after ``after``."""
    stmt = (
        select(readings.c.ts, readings.c.value)
        .where(readings.c.point_id == point_id, readings.c.ts >= start, readings.c.ts < end)
        .order_by(readings.c.ts)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(readings.c.ts > after)
    return [Reading(r.ts, r.value) for r in conn.execute(stmt)]
