"""What the platform has taken in so far: readings by source, dead letters, gateways online, polled
(Modbus and DL/T 645) meters reporting, points still waiting for data, and the counters a site's
meters reached. The running totals of ``energymon demo``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, exists, func, select, true

from services.core.schema.tables import (
    SOURCE_CODES,
    dead_letters,
    enterprises,
    gateways,
    meters,
    points,
    readings,
    sites,
)

REPORTING_INTERVALS = 3  # a polled meter reports while a poll was stored within this many slots
POLLED = ("modbus", "dlt645")  # the protocols the device poller reads


@dataclass(frozen=True, slots=True)
class IntakeTotals:
    readings: int
    mqtt_readings: int
    modbus_readings: int
    dlt645_readings: int
    dead_letters: int
    gateways_online: int
    gateways: int
    polled_meters_reporting: int  # Modbus and DL/T 645 meters
    polled_meters: int


@dataclass(frozen=True, slots=True)
class CounterSeen:
    """A meter's counter point: its first and last stored readings and the last value."""

    meter: str
    first_at: datetime
    last_at: datetime
    last_value: float


def intake_totals(conn: Connection) -> IntakeTotals:
    """Readings stored (all, MQTT, Modbus, DL/T 645), dead letters, gateways online of all, and
    active polled (Modbus and DL/T 645) meters with a poll stored within their last
    ``REPORTING_INTERVALS`` intervals."""
    mqtt, modbus, dlt645 = SOURCE_CODES["mqtt"], SOURCE_CODES["modbus"], SOURCE_CODES["dlt645"]
    stored = conn.execute(
        select(
            func.count(),
            func.count().filter(readings.c.source == mqtt),
            func.count().filter(readings.c.source == modbus),
            func.count().filter(readings.c.source == dlt645),
            select(func.count()).select_from(dead_letters).scalar_subquery(),
        ).select_from(readings)
    ).one()
    online = conn.execute(
        select(func.count().filter(gateways.c.status == "online"), func.count()).select_from(
            gateways
        )
    ).one()
    recent = func.now() - func.make_interval(
        0, 0, 0, 0, 0, 0, REPORTING_INTERVALS * points.c.interval_s
    )
    polled = exists().where(
        points.c.meter_id == meters.c.id,
        points.c.active,
        readings.c.point_id == points.c.id,
        readings.c.source.in_([modbus, dlt645]),
        readings.c.ts > recent,
    )
    reporting = conn.execute(
        select(func.count().filter(polled), func.count())
        .select_from(meters)
        .where(meters.c.protocol.in_(POLLED), meters.c.active)
    ).one()
    return IntakeTotals(
        readings=int(stored[0]),
        mqtt_readings=int(stored[1]),
        modbus_readings=int(stored[2]),
        dlt645_readings=int(stored[3]),
        dead_letters=int(stored[4]),
        gateways_online=int(online[0]),
        gateways=int(online[1]),
        polled_meters_reporting=int(reporting[0]),
        polled_meters=int(reporting[1]),
    )


def _not_sparkplug() -> ColumnElement[bool]:
    """A meter no Sparkplug edge node feeds: its edge node publishes live values and births,
    never a gateway's stored history or backlog."""
    return func.coalesce(~meters.c.connection.has_key("sparkplug"), true())


def points_awaiting(conn: Connection, *, protocol: str, since: datetime, except_site: str) -> int:
    """Active points of active ``protocol`` meters without a reading at or after ``since``,
    leaving out the sites coded ``except_site`` and Sparkplug-bound meters."""
    stmt = (
        select(func.count())
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .where(
            points.c.active,
            meters.c.active,
            meters.c.protocol == protocol,
            _not_sparkplug(),
            sites.c.code != except_site,
            ~exists().where(readings.c.point_id == points.c.id, readings.c.ts >= since),
        )
    )
    return int(conn.execute(stmt).scalar_one())


def readings_between(
    conn: Connection, *, protocol: str, since: datetime, until: datetime, except_site: str
) -> int:
    """Readings stored with ``since`` <= ts < ``until`` of active ``protocol`` meters, leaving
    out the sites coded ``except_site`` and Sparkplug-bound meters."""
    stmt = (
        select(func.count())
        .select_from(readings)
        .join(points, points.c.id == readings.c.point_id)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .where(
            meters.c.active,
            meters.c.protocol == protocol,
            _not_sparkplug(),
            sites.c.code != except_site,
            readings.c.ts >= since,
            readings.c.ts < until,
        )
    )
    return int(conn.execute(stmt).scalar_one())


def site_counters(
    conn: Connection, *, enterprise: str, site: str, quantity: str
) -> list[CounterSeen]:
    """Each meter of the site with readings of its ``quantity`` point, by meter code."""
    last = (
        select(readings.c.ts, readings.c.value)
        .where(readings.c.point_id == points.c.id)
        .order_by(readings.c.ts.desc())
        .limit(1)
        .correlate(points)
        .lateral("last")
    )
    first = (
        select(func.min(readings.c.ts))
        .where(readings.c.point_id == points.c.id)
        .correlate(points)
        .scalar_subquery()
    )
    stmt = (
        select(meters.c.code, first.label("first_at"), last.c.ts, last.c.value)
        .select_from(meters)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(points, and_(points.c.meter_id == meters.c.id, points.c.quantity == quantity))
        .join(last, true())
        .where(enterprises.c.code == enterprise, sites.c.code == site)
        .order_by(meters.c.code)
    )
    return [
        CounterSeen(meter=r.code, first_at=r.first_at, last_at=r.ts, last_value=float(r.value))
        for r in conn.execute(stmt)
    ]
