"""What the meter balance reads: each parent meter's points against the same quantity on its
declared sub-meters (``meters.sub_of``), per local day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Date, cast, func, select
from sqlalchemy.orm import aliased

from services.core.domain.balance import Balance, meter_balance
from services.core.schema.tables import enterprises, meters, points, sites
from services.core.store.completeness import PointCompleteness, point_completeness_by_day
from services.core.store.ids import among
from services.core.store.rollups import midnight, window_source


@dataclass(frozen=True, slots=True)
class BalancePair:
    """A parent meter's point and the points of the same quantity on its sub-meters."""

    enterprise_id: int
    enterprise: str
    site: str
    meter_id: int
    meter: str
    quantity: str
    unit: str
    point_id: int
    sub_meters: tuple[str, ...]
    sub_point_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DailyBalance:
    pair: BalancePair
    day: date
    balance: Balance
    completeness: float  # the lowest completeness among the points, that day


def balance_pairs(
    conn: Connection, *, enterprise_ids: Sequence[int] | None = None
) -> list[BalancePair]:
    """Every active parent meter's cumulative points with their sub-meters' matching points."""
    child = aliased(meters, name="child")
    child_point = aliased(points, name="child_point")
    stmt = (
        select(
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            sites.c.code.label("site"),
            meters.c.id.label("meter_id"),
            meters.c.code.label("meter"),
            points.c.quantity,
            points.c.unit,
            points.c.id.label("point_id"),
            child.c.code.label("sub_meter"),
            child_point.c.id.label("sub_point_id"),
        )
        .select_from(meters)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(points, points.c.meter_id == meters.c.id)
        .join(child, child.c.sub_of == meters.c.id)
        .join(
            child_point,
            (child_point.c.meter_id == child.c.id) & (child_point.c.quantity == points.c.quantity),
        )
        .where(
            enterprises.c.active,
            meters.c.active,
            points.c.active,
            points.c.kind == "cumulative",
            child.c.active,
            child_point.c.active,
        )
        .order_by(enterprises.c.code, meters.c.code, points.c.quantity, child.c.code)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(enterprises.c.id.in_(list(enterprise_ids)))
    pairs: dict[int, BalancePair] = {}
    for r in conn.execute(stmt):
        known = pairs.get(r.point_id)
        pairs[r.point_id] = BalancePair(
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            site=r.site,
            meter_id=r.meter_id,
            meter=r.meter,
            quantity=r.quantity,
            unit=r.unit,
            point_id=r.point_id,
            sub_meters=(*(known.sub_meters if known else ()), r.sub_meter),
            sub_point_ids=(*(known.sub_point_ids if known else ()), r.sub_point_id),
        )
    return list(pairs.values())


def daily_energy(
    conn: Connection, *, point_ids: Sequence[int], start: datetime, end: datetime, zone: ZoneInfo
) -> dict[tuple[int, date], float]:
    """Energy per point and local day in [start, end) (whole days from the daily rollups)."""
    if not point_ids:
        return {}
    chosen = select(points.c.id).where(among(points.c.id, point_ids))
    src = window_source(start, end, zone, chosen)
    day = cast(func.timezone(zone.key, src.c.ts), Date).label("day")
    stmt = select(src.c.point_id, day, func.sum(src.c.energy).label("energy")).group_by(
        src.c.point_id, day
    )
    return {(int(r.point_id), r.day): float(r.energy) for r in conn.execute(stmt)}


def daily_balances(
    conn: Connection,
    *,
    first_day: date,
    days: int,
    zone: ZoneInfo,
    now: datetime,
    tolerance: float,
    threshold: float,
    enterprise_ids: Sequence[int] | None = None,
    completeness: Mapping[tuple[int, date], PointCompleteness] | None = None,
) -> list[DailyBalance]:
    """The balance of every parent point on each of ``days`` local days from ``first_day``.
    ``completeness``: the points' completeness per day when the caller has it already."""
    pairs = balance_pairs(conn, enterprise_ids=enterprise_ids)
    if not pairs:
        return []
    involved = sorted({p.point_id for p in pairs} | {i for p in pairs for i in p.sub_point_ids})
    start = midnight(first_day, zone)
    end = midnight(first_day + timedelta(days=days), zone)
    energy = daily_energy(conn, point_ids=involved, start=start, end=end, zone=zone)
    if completeness is None:
        completeness = point_completeness_by_day(
            conn, point_ids=involved, first_day=first_day, days=days, zone=zone, now=now
        )
    out = []
    for n in range(days):
        day = first_day + timedelta(days=n)
        if midnight(day, zone) >= now:
            break
        for pair in pairs:
            ids = (pair.point_id, *pair.sub_point_ids)
            # a point that owed nothing that day (before commissioning) does not lower it
            lowest = min(
                (
                    c.share if c.expected else 1.0
                    for i in ids
                    if (c := completeness.get((i, day))) is not None
                ),
                default=0.0,
            )
            out.append(
                DailyBalance(
                    pair=pair,
                    day=day,
                    balance=meter_balance(
                        energy.get((pair.point_id, day), 0.0),
                        [energy.get((i, day), 0.0) for i in pair.sub_point_ids],
                        tolerance=tolerance,
                        completeness=lowest,
                        threshold=threshold,
                    ),
                    completeness=lowest,
                )
            )
    return out
