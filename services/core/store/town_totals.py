"""Comprehensive energy of every town from one grouped statement: for each town, what
:func:`services.core.store.consumption.totals` answers for ``Scope(town=...)``, without a
statement per town (the district overview shows every town over two windows).

As there, the enterprises with measured heating values convert with their own factors: the
statement keeps their amounts apart (grouped by their code), the rest of a town is grouped as
one.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import TIMESTAMP, Connection, Select, Text, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from services.core.domain.coefficients import ElectricityMethod, FactorSet
from services.core.domain.quantities import COUNTED_QUANTITIES
from services.core.schema.tables import enterprises, meters, points
from services.core.store.consumption import Amount, CarrierTotal, converted
from services.core.store.factors import measuring_enterprises
from services.core.store.rollups import WindowShape, shaped_window_source, window_plan
from services.core.store.scope import points_where, scope_conditions, source_join

_STAMP = TIMESTAMP(timezone=True)


def totals_by_town(
    conn: Connection,
    factors: FactorSet,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
) -> dict[str, list[CarrierTotal]]:
    """Per town with consumption in [start, end): its carriers' amounts, standard coal and CO2
    with the factors valid at ``start``, as :func:`totals` of the town's scope."""
    window, bounds = window_plan(start, end, zone, months=True)
    measuring = measuring_enterprises(conn, factors)
    params = {"start": start, "town_measuring": sorted(measuring), **bounds}
    parts: dict[str, list[tuple[Amount, FactorSet]]] = {}
    theirs: dict[str, list[tuple[Amount, FactorSet]]] = {}
    for r in conn.execute(_town_select(zone.key, window), params):
        amount = Amount(r.period, r.carrier, r.unit, r.region, float(r.amount))
        if r.code is not None:
            theirs.setdefault(r.town, []).append((amount, measuring[r.code]))
        elif abs(amount.amount) > 1e-9:  # as totals drops what is left of a town
            parts.setdefault(r.town, []).append((amount, factors))
        else:
            parts.setdefault(r.town, [])
    out = {}
    for town in sorted(parts.keys() | theirs.keys()):
        periods = converted(
            parts.get(town, []) + theirs.get(town, []),
            start=start,
            end=end,
            zone=zone,
            trunc=None,
            method=method,
        )
        out[town] = periods[0].carriers if periods else []
    return out


@lru_cache(maxsize=64)
def _town_select(zone_key: str, window: WindowShape) -> Select[Any]:
    """Amounts over the whole window per town, measuring enterprise (``code``; NULL: the rest of
    the town), carrier, unit and grid region (``town_measuring``: the measuring codes)."""
    counted = points.c.quantity.in_(COUNTED_QUANTITIES)
    scope = [*scope_conditions(()), enterprises.c.town.is_not(None)]
    c = shaped_window_source(window, points_where(scope, counted))
    measuring = bindparam("town_measuring", type_=ARRAY(Text))
    own = case((enterprises.c.code == func.any(measuring), enterprises.c.code)).label("code")
    region = enterprises.c.grid_region.label("region")
    amounts = select(
        bindparam("start", type_=_STAMP).label("period"),
        enterprises.c.town,
        own,
        meters.c.carrier,
        points.c.unit,
        region,
        func.sum(c.c.energy).label("amount"),
    )
    return (
        source_join(amounts, c)
        .where(*scope, counted)
        .group_by(enterprises.c.town, own, meters.c.carrier, points.c.unit, region)
        .order_by(
            enterprises.c.town,
            own.asc().nulls_first(),
            meters.c.carrier,
            points.c.unit,
            region,
        )
    )
