"""What the data-quality rules read: completeness per meter and local day, counter anomalies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from services.core.schema.tables import (
    counter_events,
    enterprises,
    meters,
    points,
)
from services.core.store.completeness import combined, point_completeness


@dataclass(frozen=True, slots=True)
class MeterCompleteness:
    meter_id: int
    meter: str
    enterprise_id: int
    enterprise: str
    expected: int  # collection periods owed over the meter's cumulative points
    measured: int  # of which held measured data
    estimated: int  # of which were gap-filled

    @property
    def share(self) -> float:
        return self.measured / self.expected if self.expected else 1.0


@dataclass(frozen=True, slots=True)
class MeterCounterEvents:
    meter_id: int
    meter: str
    enterprise_id: int
    enterprise: str
    kind: str
    events: int
    latest: list[str]  # "<point> <UTC time>", newest first, at most 10


def meter_completeness(
    conn: Connection, *, start: datetime, end: datetime, zone: ZoneInfo, now: datetime
) -> list[MeterCompleteness]:
    """Per active meter registered before ``start``: the completeness of its active cumulative
    points over [start, end) together (services/core/store/completeness.py, the one definition)."""
    stmt = (
        select(
            meters.c.id,
            meters.c.code,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            points.c.id.label("point_id"),
        )
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .join(points, points.c.meter_id == meters.c.id)
        .where(
            meters.c.active,
            enterprises.c.active,
            meters.c.created_at < start,
            points.c.active,
            points.c.kind == "cumulative",
        )
        .order_by(meters.c.id, points.c.id)
    )
    rows = list(conn.execute(stmt))
    shares = point_completeness(
        conn, start=start, end=end, zone=zone, point_ids=[r.point_id for r in rows], now=now
    )
    by_meter: dict[int, list[Any]] = {}
    for r in rows:
        by_meter.setdefault(r.id, []).append(r)
    out = []
    for its in by_meter.values():
        total = combined(shares[r.point_id] for r in its if r.point_id in shares)
        first = its[0]
        out.append(
            MeterCompleteness(
                meter_id=first.id,
                meter=first.code,
                enterprise_id=first.enterprise_id,
                enterprise=first.enterprise,
                expected=total.expected,
                measured=total.measured,
                estimated=total.estimated,
            )
        )
    return out


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
