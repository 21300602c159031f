"""Consumption by period and carrier, of four scopes with one implementation: an enterprise (or
one of its sites), one meter of it (whatever its role), a town and the district.

Each scope's dependency gathers what its route is asked (``SeriesQuery``); ``_series`` checks the
range and the zone, checks that the caller may see the scope and answers with the JSON that
PostgreSQL builds. Aggregates over several enterprises (a town, the district) are for officers.
The tags are the ones the API has always shown these routes under in its document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.api.deps import Ctx, Officer, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.consumption import ConsumptionOut
from services.api.params import Code, From, Interval, Meter, To, Town, Tz, check_range, zone_of
from services.api.render import json_body
from services.api.security import Principal
from services.api.tenancy import visible_scope
from services.core.store.consumption import consumption_json
from services.core.store.scope import Scope

router = APIRouter(prefix="/api/v1", responses=STANDARD_PROBLEMS)


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A consumption series as asked: whose, [start, end), the period length and the name of the
    periods' zone (checked by the route, once FastAPI has validated every parameter)."""

    scope: Scope
    start: datetime
    end: datetime
    interval: str
    tz: str | None


async def enterprise_series(
    code: Code,
    start: From,
    end: To,
    interval: Interval = "1d",
    site: Annotated[str | None, Query(description="Only this site, e.g. plant-1")] = None,
    tz: Tz = None,
) -> SeriesQuery:
    scope = Scope(enterprise=code, site=site)
    return SeriesQuery(scope=scope, start=start, end=end, interval=interval, tz=tz)


async def meter_series(
    code: Code,
    meter: Meter,
    start: From,
    end: To,
    interval: Interval = "1d",
    point: Annotated[
        str | None, Query(description="Only this point's quantity, e.g. energy_import_kwh")
    ] = None,
    tz: Tz = None,
) -> SeriesQuery:
    scope = Scope(enterprise=code, meter=meter, quantity=point)
    return SeriesQuery(scope=scope, start=start, end=end, interval=interval, tz=tz)


async def town_series(
    town: Town, start: From, end: To, interval: Interval = "1d", tz: Tz = None
) -> SeriesQuery:
    return SeriesQuery(scope=Scope(town=town), start=start, end=end, interval=interval, tz=tz)


async def district_series(
    start: From, end: To, interval: Interval = "1d", tz: Tz = None
) -> SeriesQuery:
    return SeriesQuery(scope=Scope(), start=start, end=end, interval=interval, tz=tz)


def _series(ctx: Ctx, *, who: Principal, query: SeriesQuery) -> Response:
    check_range(ctx, query.start, query.end)
    zone = zone_of(ctx, query.tz)
    with ctx.reads.connect() as conn:
        visible_scope(conn, who=who, scope=query.scope)
        body = consumption_json(
            conn,
            start=query.start,
            end=query.end,
            interval=query.interval,
            zone=zone,
            scope=query.scope,
            now=datetime.now(UTC),
        )
    return json_body(body)


@router.get(
    "/enterprises/{code}/consumption",
    response_model=list[ConsumptionOut],
    tags=["indicators"],
    summary="Consumption by period and carrier",
)
def enterprise_consumption(
    ctx: Ctx, who: Reader, query: Annotated[SeriesQuery, Depends(enterprise_series)]
) -> Response:
    """Boundary meters only (incomers, fuel receipts, data-centre facility meters); amounts in
    the point's unit with the meter multiplier applied; periods in `tz` (default the platform's)."""
    return _series(ctx, who=who, query=query)


@router.get(
    "/enterprises/{code}/meters/{meter}/consumption",
    response_model=list[ConsumptionOut],
    tags=["energy"],
    summary="A meter's own consumption by period (any role, sub-meters included)",
)
def meter_consumption(
    ctx: Ctx, who: Reader, query: Annotated[SeriesQuery, Depends(meter_series)]
) -> Response:
    """One meter's consumption whatever its role (sub-meters and data-centre IT meters
    included, unlike the enterprise's consumption), with the meter multiplier applied."""
    return _series(ctx, who=who, query=query)


@router.get(
    "/towns/{town}/consumption",
    response_model=list[ConsumptionOut],
    tags=["energy"],
    summary="A town's consumption by period and carrier (officers)",
)
def town_consumption(
    ctx: Ctx, who: Officer, query: Annotated[SeriesQuery, Depends(town_series)]
) -> Response:
    """The boundary meters of the town's enterprises, summed per period and carrier. An unknown
    town answers 404."""
    return _series(ctx, who=who, query=query)


@router.get(
    "/district/consumption",
    response_model=list[ConsumptionOut],
    tags=["energy"],
    summary="The district's consumption by period and carrier (officers)",
)
def district_consumption(
    ctx: Ctx, who: Officer, query: Annotated[SeriesQuery, Depends(district_series)]
) -> Response:
    """The boundary meters of every enterprise, summed per period and carrier."""
    return _series(ctx, who=who, query=query)
