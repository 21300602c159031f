"""Whether meters, gateways and Modbus devices are reporting: what the connectivity rules read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from services.core.schema.tables import (
    device_status,
    enterprises,
    gateways,
    meters,
    points,
    readings,
)


@dataclass(frozen=True, slots=True)
class MeterLastReading:
    meter_id: int
    meter: str
    enterprise_id: int
    enterprise: str
    registered_at: datetime
    interval_s: int  # the shortest expected interval of its active points
    last_reading_at: datetime | None


@dataclass(frozen=True, slots=True)
class OfflineGateway:
    gateway_id: int
    gateway: str
    enterprise_id: int
    enterprise: str
    offline_since: datetime | None
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class OfflineDevice:
    meter_id: int
    meter: str
    enterprise_id: int
    enterprise: str
    since: datetime
    last_error: str | None
    consecutive_failures: int
    last_success_at: datetime | None
    protocol: str  # modbus, dlt645


def last_readings(conn: Connection) -> list[MeterLastReading]:
    """Every active meter with its newest reading (an index probe per point on the
    ``(point_id, ts)`` key) and its shortest expected interval."""
    newest = (
        select(func.max(readings.c.ts)).where(readings.c.point_id == points.c.id).scalar_subquery()
    )
    stmt = (
        select(
            meters.c.id,
            meters.c.code,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            meters.c.created_at,
            func.min(points.c.interval_s).label("interval_s"),
            func.max(newest).label("last_ts"),
        )
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .join(points, (points.c.meter_id == meters.c.id) & points.c.active)
        .where(meters.c.active, enterprises.c.active)
        .group_by(meters.c.id, meters.c.code, enterprises.c.id, enterprises.c.code)
    )
    return [
        MeterLastReading(
            meter_id=r.id,
            meter=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            registered_at=r.created_at,
            interval_s=int(r.interval_s),
            last_reading_at=r.last_ts,
        )
        for r in conn.execute(stmt)
    ]


def offline_gateways(conn: Connection) -> list[OfflineGateway]:
    """Active gateways whose retained MQTT status says offline."""
    stmt = (
        select(
            gateways.c.id,
            gateways.c.code,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            gateways.c.status_at,
            gateways.c.last_seen_at,
        )
        .join(enterprises, enterprises.c.id == gateways.c.enterprise_id)
        .where(gateways.c.active, enterprises.c.active, gateways.c.status == "offline")
    )
    return [
        OfflineGateway(
            gateway_id=r.id,
            gateway=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            offline_since=r.status_at,
            last_seen_at=r.last_seen_at,
        )
        for r in conn.execute(stmt)
    ]


def offline_devices(conn: Connection) -> list[OfflineDevice]:
    """Active polled (Modbus, DL/T 645) meters the poller marked offline."""
    stmt = (
        select(
            meters.c.id,
            meters.c.code,
            meters.c.protocol,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            device_status.c.since,
            device_status.c.last_error,
            device_status.c.consecutive_failures,
            device_status.c.last_success_at,
        )
        .join(meters, meters.c.id == device_status.c.meter_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(device_status.c.state == "offline", meters.c.active, enterprises.c.active)
    )
    return [
        OfflineDevice(
            meter_id=r.id,
            meter=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            since=r.since,
            last_error=r.last_error,
            consecutive_failures=int(r.consecutive_failures),
            last_success_at=r.last_success_at,
            protocol=r.protocol,
        )
        for r in conn.execute(stmt)
    ]
