"""A data centre's PUE over a window from the rollups, with each side's coverage.

PUE = facility energy / IT energy (services/core/domain/pue.py). Each side's coverage is the
completeness of its points together (services/core/store/completeness.py): measured collection
periods / expected periods, owed from each point's commissioning (a site is not short of data for
the months before it was connected) to the window's end, now or its decommissioning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, Connection, Select, bindparam, func, select

from services.core.domain.buckets import SHANGHAI
from services.core.domain.completeness import DEFAULT_THRESHOLD, PointCompleteness, combined
from services.core.domain.pue import PueResult, pue
from services.core.domain.quantities import QuantityCode
from services.core.domain.roles import MeterRole
from services.core.schema.tables import enterprises, meters, points, sites
from services.core.store.completeness import point_completeness
from services.core.store.rollups import (
    WindowShape,
    shaped_window_source,
    window_plan,
    window_source,
)

_PUE_ROLES = (MeterRole.FACILITY_TOTAL.value, MeterRole.IT_LOAD.value)
_ENERGY = QuantityCode.ENERGY_IMPORT_KWH


@dataclass(frozen=True, slots=True)
class _PointSums:
    point_id: int
    role: str
    energy: float


def site_pue(
    conn: Connection,
    *,
    enterprise: str,
    site: str,
    start: datetime,
    end: datetime,
    threshold: float = DEFAULT_THRESHOLD,
    zone: ZoneInfo | None = None,
    now: datetime | None = None,
) -> PueResult:
    """PUE of a data-centre site over [start, end); ``zone``: the calendar zone, to read whole
    days from the daily rollups (and to align periods longer than 15 minutes); ``now``: what is
    owed ends there (default: the clock)."""
    window, bounds = window_plan(start, end, zone)
    params = {"pue_enterprise": enterprise, "pue_site": site, **bounds}
    rows = [
        _PointSums(r.id, r.role, float(r.energy))
        for r in conn.execute(_site_select(window), params)
    ]
    shares = point_completeness(
        conn,
        point_ids=[r.point_id for r in rows],
        start=start,
        end=end,
        zone=zone or SHANGHAI,
        now=now,
    )
    return _pue_of(rows, shares, threshold)


@lru_cache(maxsize=64)
def _site_select(window: WindowShape) -> Select[Any]:
    """:func:`site_pue`'s sums per point; the site and window are parameters."""
    enterprise: BindParameter[str] = bindparam("pue_enterprise")
    site: BindParameter[str] = bindparam("pue_site")
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
    c = shaped_window_source(window, site_points)
    return (
        select(
            points.c.id,
            meters.c.role,
            func.coalesce(func.sum(c.c.energy), 0).label("energy"),
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
        .group_by(meters.c.role, points.c.id)
    )


def all_sites_pue(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    threshold: float = DEFAULT_THRESHOLD,
    zone: ZoneInfo | None = None,
    now: datetime | None = None,
) -> dict[int, PueResult]:
    """:func:`site_pue` for every active data-centre site in one query, by site id."""
    dc_points = (
        select(
            sites.c.id.label("site_id"),
            meters.c.role,
            points.c.id,
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
    sums = (
        select(c.c.point_id, func.sum(c.c.energy).label("energy"))
        .group_by(c.c.point_id)
        .cte("sums")
    )
    stmt = (
        select(
            dc_points.c.site_id,
            dc_points.c.role,
            dc_points.c.id,
            func.coalesce(sums.c.energy, 0).label("energy"),
        )
        .select_from(dc_points)
        .outerjoin(sums, sums.c.point_id == dc_points.c.id)
    )
    by_site: dict[int, list[_PointSums]] = {}
    for r in conn.execute(stmt):
        by_site.setdefault(r.site_id, []).append(_PointSums(r.id, r.role, float(r.energy)))
    shares = point_completeness(
        conn,
        point_ids=[p.point_id for rows in by_site.values() for p in rows],
        start=start,
        end=end,
        zone=zone or SHANGHAI,
        now=now,
    )
    return {site_id: _pue_of(rows, shares, threshold) for site_id, rows in by_site.items()}


def _pue_of(
    rows: Iterable[_PointSums], shares: dict[int, PointCompleteness], threshold: float
) -> PueResult:
    """PUE from one site's points; each side's completeness is its points' periods together."""
    energy = {MeterRole.FACILITY_TOTAL: 0.0, MeterRole.IT_LOAD: 0.0}
    parts: dict[MeterRole, list[PointCompleteness]] = {role: [] for role in energy}
    for r in rows:
        role = MeterRole(r.role)
        energy[role] += r.energy
        if r.point_id in shares:
            parts[role].append(shares[r.point_id])
    facility = combined(parts[MeterRole.FACILITY_TOTAL])
    it = combined(parts[MeterRole.IT_LOAD])
    return pue(
        energy[MeterRole.FACILITY_TOTAL],
        energy[MeterRole.IT_LOAD],
        facility_coverage=facility.share,
        it_coverage=it.share,
        threshold=threshold,
        facility_estimated=facility.estimated_share,
        it_estimated=it.estimated_share,
    )
