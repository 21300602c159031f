"""What the data-quality rules read: readings per meter and local day, counter anomalies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Float, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from services.core.schema.tables import (
    consumption_15m,
    counter_events,
    enterprises,
    meters,
    points,
)


@dataclass(frozen=True, slots=True)
class MeterCompleteness:
    meter_id: int
    meter: str
    enterprise_id: int
    enterprise: str
    present: float  # readings that arrived over the meter's cumulative points
    expected: float  # readings expected at the points' declared intervals


@dataclass(frozen=True, slots=True)
class MeterCounterEvents:
    meter_id: int
    meter: str
    enterprise_id: int
    enterprise: str
    kind: str
    events: int
    latest: list[str]  # "<point> <UTC time>", newest first, at most 10


def readings_per_meter(
    conn: Connection, *, start: datetime, end: datetime
) -> list[MeterCompleteness]:
    """Per active meter registered before ``start``: readings present in [start, end) across its
    cumulative points (from the 15-minute rollups) and readings expected at their intervals."""
    per_day = 96 * func.max(literal(900) / points.c.interval_s)
    stmt = (
        select(
            meters.c.id,
            meters.c.code,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            cast(func.sum(consumption_15m.c.readings), Float).label("present"),
            cast(func.count(points.c.id.distinct()) * per_day, Float).label("expected"),
        )
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .join(
            points,
            (points.c.meter_id == meters.c.id) & points.c.active & (points.c.kind == "cumulative"),
        )
        .join(
            consumption_15m,
            (consumption_15m.c.point_id == points.c.id)
            & (consumption_15m.c.bucket >= start)
            & (consumption_15m.c.bucket < end),
        )
        .where(meters.c.active, enterprises.c.active, meters.c.created_at < start)
        .group_by(meters.c.id, meters.c.code, enterprises.c.id, enterprises.c.code)
    )
    return [
        MeterCompleteness(
            meter_id=r.id,
            meter=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            present=r.present,
            expected=r.expected,
        )
        for r in conn.execute(stmt)
    ]


def counter_events_since(
    conn: Connection, *, since: datetime, kinds: list[str]
) -> list[MeterCounterEvents]:
    """Counter anomalies of ``kinds`` found after ``since``, per active meter and kind."""
    stamped = (
        points.c.quantity
        + " "
        + func.to_char(func.timezone("UTC", counter_events.c.ts), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    )
    latest = func.array_agg(aggregate_order_by(stamped, counter_events.c.ts.desc()))
    stmt = (
        select(
            meters.c.id,
            meters.c.code,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            counter_events.c.kind,
            func.count().label("events"),
            latest.label("latest"),
        )
        .join(points, points.c.id == counter_events.c.point_id)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(
            counter_events.c.detected_at > since,
            counter_events.c.kind.in_(kinds),
            meters.c.active,
            enterprises.c.active,
        )
        .group_by(
            meters.c.id, meters.c.code, enterprises.c.id, enterprises.c.code, counter_events.c.kind
        )
    )
    return [
        MeterCounterEvents(
            meter_id=r.id,
            meter=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            kind=r.kind,
            events=int(r.events),
            latest=list(r.latest)[:10],
        )
        for r in conn.execute(stmt)
    ]
