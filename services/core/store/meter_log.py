"""What happened to one meter: the counter anomalies the rollups found on its points, and the
dead letters of the gateway it reports through (a dead letter names its enterprise and gateway,
not the meter: the message may not have been readable that far)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from services.core.schema.tables import counter_events, dead_letters, meters, points


@dataclass(frozen=True, slots=True)
class CounterEvent:
    quantity: str
    ts: datetime
    kind: str
    energy: float | None
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    source: str
    reason: str
    detail: str


def meter_counter_events(
    conn: Connection, *, enterprise_id: int, meter: str, limit: int
) -> list[CounterEvent]:
    """The newest ``limit`` counter events of the meter's points, newest first."""
    stmt = (
        select(
            points.c.quantity,
            counter_events.c.ts,
            counter_events.c.kind,
            counter_events.c.energy,
            counter_events.c.detected_at,
        )
        .join(points, points.c.id == counter_events.c.point_id)
        .join(meters, meters.c.id == points.c.meter_id)
        .where(meters.c.enterprise_id == enterprise_id, meters.c.code == meter)
        .order_by(counter_events.c.ts.desc())
        .limit(limit)
    )
    return [CounterEvent(**r._mapping) for r in conn.execute(stmt)]


def gateway_dead_letters(
    conn: Connection, *, enterprise: str, gateway: str, limit: int
) -> list[DeadLetter]:
    """The newest ``limit`` dead letters that named the enterprise and the gateway."""
    stmt = (
        select(
            dead_letters.c.received_at,
            dead_letters.c.source,
            dead_letters.c.reason,
            dead_letters.c.detail,
        )
        .where(
            dead_letters.c.enterprise_code == enterprise,
            dead_letters.c.gateway_code == gateway,
        )
        .order_by(dead_letters.c.received_at.desc())
        .limit(limit)
    )
    return [DeadLetter(**r._mapping) for r in conn.execute(stmt)]
