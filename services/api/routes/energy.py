"""Comprehensive energy (tce) and CO2 with the factors used, of three scopes with one
implementation: an enterprise (or one of its sites), a town and the district; and an
enterprise's per day, month or year. Towns and the district are for officers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response

from services.api.deps import Ctx, Officer, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.energy import CarrierEnergyOut, EnergyOut
from services.api.params import Code, From, Method, To, Town, check_range
from services.api.render import model_response
from services.api.security import Principal
from services.api.tenancy import visible_enterprise, visible_scope
from services.core.domain.coefficients import ElectricityMethod
from services.core.domain.rounding import AMOUNT_DIGITS, TCE_DIGITS, TCO2_DIGITS, rounded
from services.core.factors import default_factors
from services.core.store.consumption import CarrierTotal, totals, totals_by_period
from services.core.store.scope import Scope

router = APIRouter(prefix="/api/v1", tags=["energy"], responses=STANDARD_PROBLEMS)
Site = Annotated[str | None, Query(description="Only this site, e.g. dc-1")]


@dataclass(frozen=True, slots=True)
class EnergyQuery:
    """Comprehensive energy as asked: whose, [start, end) and the electricity method (the range
    checked by the route, once FastAPI has validated every parameter)."""

    scope: Scope
    start: datetime
    end: datetime
    method: str


async def enterprise_energy_query(
    code: Code, start: From, end: To, site: Site = None, method: Method = "equivalent"
) -> EnergyQuery:
    scope = Scope(enterprise=code, site=site)
    return EnergyQuery(scope=scope, start=start, end=end, method=method)


async def town_energy_query(
    town: Town, start: From, end: To, method: Method = "equivalent"
) -> EnergyQuery:
    return EnergyQuery(scope=Scope(town=town), start=start, end=end, method=method)


async def district_energy_query(start: From, end: To, method: Method = "equivalent") -> EnergyQuery:
    return EnergyQuery(scope=Scope(), start=start, end=end, method=method)


def _label(scope: Scope) -> str:
    if scope.enterprise is not None:
        return f"enterprise {scope.enterprise}" + (f" site {scope.site}" if scope.site else "")
    if scope.town is not None:
        return f"town {scope.town}"
    return "district"


def _energy(ctx: Ctx, *, who: Principal, query: EnergyQuery) -> Response:
    check_range(ctx, query.start, query.end)
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        visible_scope(conn, who=who, scope=query.scope)
        rows = totals(
            conn,
            default_factors(),
            start=query.start,
            end=query.end,
            zone=zone,
            method=ElectricityMethod(query.method),
            scope=query.scope,
        )
    out = _energy_out(
        label=_label(query.scope),
        start=query.start,
        end=query.end,
        method=query.method,
        rows=rows,
        zone=zone,
    )
    return model_response(EnergyOut, out)


def _energy_out(
    *,
    label: str,
    start: datetime,
    end: datetime,
    method: str,
    rows: list[CarrierTotal],
    zone: ZoneInfo,
) -> EnergyOut:
    """Figures rounded to their unit's precision; the totals are summed before rounding."""
    carriers = [
        CarrierEnergyOut(
            carrier=t.carrier,
            unit=t.unit,
            amount=round(t.amount, AMOUNT_DIGITS),
            region=t.region,
            tce=rounded(t.kgce.value / 1000, TCE_DIGITS) if t.kgce else None,
            tco2=rounded(t.tco2.value, TCO2_DIGITS) if t.tco2 else None,
            coal_factor=t.kgce.factor.value if t.kgce else None,
            coal_factor_unit=t.kgce.factor.unit if t.kgce else None,
            coal_source=t.kgce.factor.source if t.kgce else None,
            co2_factor=t.tco2.factor.value if t.tco2 else None,
            co2_factor_unit=t.tco2.factor.unit if t.tco2 else None,
            co2_source=t.tco2.factor.source if t.tco2 else None,
            uncertain=bool(
                (t.kgce and t.kgce.factor.uncertain) or (t.tco2 and t.tco2.factor.uncertain)
            ),
            note=t.tco2.note if t.tco2 else "",
        )
        for t in rows
    ]
    return EnergyOut(
        scope=label,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        method=method,
        total_tce=round(sum(t.kgce.value / 1000 for t in rows if t.kgce), TCE_DIGITS),
        total_tco2=round(sum(t.tco2.value for t in rows if t.tco2), TCO2_DIGITS),
        carriers=carriers,
    )


@router.get(
    "/enterprises/{code}/energy",
    response_model=EnergyOut,
    summary="Comprehensive energy (tce) and CO2 of an enterprise or one of its sites",
)
def enterprise_energy(
    ctx: Ctx, who: Reader, query: Annotated[EnergyQuery, Depends(enterprise_energy_query)]
) -> Response:
    """Boundary meters of every carrier, converted with the factors valid at `from`
    (GB/T 2589-2020; CO2 with the enterprise's grid region); each factor and its source shown."""
    return _energy(ctx, who=who, query=query)


@router.get(
    "/enterprises/{code}/energy/periods",
    response_model=list[EnergyOut],
    summary="Comprehensive energy (tce) and CO2 per day, month or year, e.g. a year by month",
)
def enterprise_energy_by_period(
    ctx: Ctx,
    who: Reader,
    code: Code,
    start: From,
    end: To,
    interval: Annotated[
        str,
        Query(pattern="^(1d|1mo|1y)$", description="Period: 1d, 1mo or 1y, at local boundaries"),
    ] = "1mo",
    site: Site = None,
    method: Method = "equivalent",
) -> Response:
    """What `/enterprises/{code}/energy` answers for each local period in [from, to) — a year's
    monthly tce is one request — from one grouped query; each period converted with the
    factors valid at its start. Periods without any rollup are left out; the first and last
    periods are cut at `from` and `to`."""
    check_range(ctx, start, end)
    zone = ctx.config.common.zone
    scope = Scope(enterprise=code, site=site)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
        periods = totals_by_period(
            conn,
            default_factors(),
            start=start,
            end=end,
            zone=zone,
            interval=interval,
            method=ElectricityMethod(method),
            scope=scope,
        )
    out = [
        _energy_out(
            label=_label(scope), start=p.start, end=p.end, method=method, rows=p.carriers, zone=zone
        )
        for p in periods
    ]
    return model_response(list[EnergyOut], out)


@router.get(
    "/towns/{town}/energy",
    response_model=EnergyOut,
    summary="Comprehensive energy (tce) and CO2 of a town (officers)",
)
def town_energy(
    ctx: Ctx, who: Officer, query: Annotated[EnergyQuery, Depends(town_energy_query)]
) -> Response:
    """As for an enterprise, over the boundary meters of every enterprise in the town (each
    enterprise's electricity with its own grid region's CO2 factor). An unknown town is 404."""
    return _energy(ctx, who=who, query=query)


@router.get(
    "/district/energy",
    response_model=EnergyOut,
    summary="Comprehensive energy (tce) and CO2 of the district (officers)",
)
def district_energy(
    ctx: Ctx, who: Officer, query: Annotated[EnergyQuery, Depends(district_energy_query)]
) -> Response:
    """As for an enterprise, over the boundary meters of every enterprise of the district."""
    return _energy(ctx, who=who, query=query)
