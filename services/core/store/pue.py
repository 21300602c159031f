"""A data centre's PUE over a window from the rollups, with each side's coverage.

PUE = facility energy / IT energy (services/core/domain/pue.py). Each side's coverage = readings
present / readings expected, expected counted from the later of the window's start and the point's
first reading (a site is not short of data for the months before it was connected).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, ScalarSelect, func, select, true

from services.core.domain.pue import PueResult, pue
from services.core.domain.quantities import QuantityCode
from services.core.domain.roles import MeterRole
from services.core.schema.tables import consumption_15m, enterprises, meters, points, sites
from services.core.store.rollups import window_source

_PUE_ROLES = (MeterRole.FACILITY_TOTAL.value, MeterRole.IT_LOAD.value)
_ENERGY = QuantityCode.ENERGY_IMPORT_KWH


@dataclass(frozen=True, slots=True)
class _PointSums:
    role: str
    interval_s: int
    energy: float
    readings: float
    first: datetime | None  # the point's first 15-minute bucket ever


def expected_readings(
    start: datetime, end: datetime, first: datetime | None, interval_s: int
) -> int:
    """Readings a point owes over [start, end): one per interval (at least one per 15-minute
    bucket), counted from the later of ``start`` and its first reading (``first``; None: it
    never reported, so it owes them all). A point first heard of after ``end`` owes none."""
    since = max(start, first) if first is not None else start
    if since >= end:
        return 0
    slots = max(1, int((end - since).total_seconds() // 900))
    return slots * max(1, 900 // interval_s)


def _first_bucket() -> ScalarSelect[datetime]:
    """The point's first bucket: an index probe on (point_id, bucket)."""
    return (
        select(func.min(consumption_15m.c.bucket))
        .where(consumption_15m.c.point_id == points.c.id)
        .scalar_subquery()
    )


def site_pue(
    conn: Connection,
    *,
    enterprise: str,
    site: str,
    start: datetime,
    end: datetime,
    threshold: float = 0.9,
    zone: ZoneInfo | None = None,
) -> PueResult:
    """PUE of a data-centre site over [start, end); ``zone``: the calendar zone, to read whole
    days from the daily rollups."""
    site_points = (
        select(points.c.id)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(
            enterprises.c.code == enterprise,
            sites.c.code == site,
            meters.c.role.in_(_PUE_ROLES),
            points.c.quantity == _ENERGY,
        )
        .correlate(None)
    )
    c = window_source(start, end, zone, site_points)
    stmt = (
        select(
            meters.c.role,
            points.c.interval_s,
            func.coalesce(func.sum(c.c.energy), 0).label("energy"),
            func.coalesce(func.sum(c.c.readings), 0).label("readings"),
            _first_bucket().label("first"),
        )
        .select_from(meters)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .join(
            points,
            (points.c.meter_id == meters.c.id) & (points.c.quantity == _ENERGY) & points.c.active,
        )
        .outerjoin(c, c.c.point_id == points.c.id)
        .where(
            enterprises.c.code == enterprise,
            sites.c.code == site,
            meters.c.active,
            meters.c.role.in_(_PUE_ROLES),
        )
        .group_by(meters.c.role, points.c.id, points.c.interval_s)
    )
    rows = [
        _PointSums(r.role, r.interval_s, float(r.energy), float(r.readings), r.first)
        for r in conn.execute(stmt)
    ]
    return _pue_of(rows, start, end, threshold)


def all_sites_pue(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    threshold: float = 0.9,
    zone: ZoneInfo | None = None,
) -> dict[int, PueResult]:
    """:func:`site_pue` for every active data-centre site in one query, by site id."""
    dc_points = (
        select(
            sites.c.id.label("site_id"),
            meters.c.role,
            points.c.id,
            points.c.interval_s,
        )
        .select_from(sites)
        .join(
            meters,
            (meters.c.site_id == sites.c.id) & meters.c.active & meters.c.role.in_(_PUE_ROLES),
        )
        .join(
            points,
            (points.c.meter_id == meters.c.id) & (points.c.quantity == _ENERGY) & points.c.active,
        )
        .where(sites.c.kind == "data_centre", sites.c.active)
        .cte("dc_points")
    )
    c = window_source(start, end, zone, select(dc_points.c.id).correlate(None))
    # summed per point first, then one first-reading probe per point
    sums = (
        select(
            c.c.point_id,
            func.sum(c.c.energy).label("energy"),
            func.sum(c.c.readings).label("readings"),
        )
        .group_by(c.c.point_id)
        .cte("sums")
    )
    first = (
        select(func.min(consumption_15m.c.bucket).label("first"))
        .where(consumption_15m.c.point_id == dc_points.c.id)
        .correlate(dc_points)
        .lateral("f")
    )
    stmt = (
        select(
            dc_points.c.site_id,
            dc_points.c.role,
            dc_points.c.interval_s,
            first.c.first,
            func.coalesce(sums.c.energy, 0).label("energy"),
            func.coalesce(sums.c.readings, 0).label("readings"),
        )
        .select_from(dc_points)
        .outerjoin(sums, sums.c.point_id == dc_points.c.id)
        .join(first, true())
    )
    by_site: dict[int, list[_PointSums]] = {}
    for r in conn.execute(stmt):
        by_site.setdefault(r.site_id, []).append(
            _PointSums(r.role, r.interval_s, float(r.energy), float(r.readings), r.first)
        )
    return {site_id: _pue_of(rows, start, end, threshold) for site_id, rows in by_site.items()}


def _pue_of(
    rows: Iterable[_PointSums], start: datetime, end: datetime, threshold: float
) -> PueResult:
    """PUE from one site's points: expected readings count from the later of the window start
    and each point's first data."""
    energy = {MeterRole.FACILITY_TOTAL: 0.0, MeterRole.IT_LOAD: 0.0}
    present = dict.fromkeys(energy, 0.0)
    owed = dict.fromkeys(energy, 0.0)
    for r in rows:
        role = MeterRole(r.role)
        energy[role] += r.energy
        present[role] += r.readings
        owed[role] += expected_readings(start, end, r.first, r.interval_s)

    def coverage(role: MeterRole) -> float:
        return min(1.0, present[role] / owed[role]) if owed[role] else 0.0

    return pue(
        energy[MeterRole.FACILITY_TOTAL],
        energy[MeterRole.IT_LOAD],
        facility_coverage=coverage(MeterRole.FACILITY_TOTAL),
        it_coverage=coverage(MeterRole.IT_LOAD),
        threshold=threshold,
    )
