"""Raw-reading export: the record officers ask for, as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from services.core.errors import EnergymonError
from services.core.schema.tables import enterprises, meters, points, readings, sites

CSV_HEADER = ("enterprise", "site", "meter", "point", "ts", "value", "unit")


def parse_instant(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 date or date-time; a date or a time without offset is local time in ``zone``."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise EnergymonError(f"{text!r} is not an ISO 8601 date or date-time") from err
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def iter_readings(
    conn: Connection,
    *,
    enterprise: str,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    meter: str | None = None,
    point: str | None = None,
) -> Iterator[tuple[str, str, str, str, str, float, str]]:
    """Readings of one enterprise in ``[start, end)``, ordered by meter, point and time."""
    stmt = (
        select(
            enterprises.c.code,
            sites.c.code,
            meters.c.code,
            points.c.quantity,
            readings.c.ts,
            readings.c.value,
            points.c.unit,
        )
        .select_from(
            readings.join(points, points.c.id == readings.c.point_id)
            .join(meters, meters.c.id == points.c.meter_id)
            .join(sites, sites.c.id == meters.c.site_id)
            .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        )
        .where(enterprises.c.code == enterprise, readings.c.ts >= start, readings.c.ts < end)
        .order_by(meters.c.code, points.c.quantity, readings.c.ts)
    )
    if meter is not None:
        stmt = stmt.where(meters.c.code == meter)
    if point is not None:
        stmt = stmt.where(points.c.quantity == point)
    for ent, site, mtr, qty, ts, value, unit in conn.execution_options(yield_per=5000).execute(
        stmt
    ):
        yield ent, site, mtr, qty, ts.astimezone(zone).isoformat(), value, unit


def write_csv(rows: Iterator[tuple[object, ...]], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n
