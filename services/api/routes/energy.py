"""Energy indicators beyond one enterprise's consumption: a meter's own consumption, towns and
the district; comprehensive energy (tce) and CO2 with the factors used; budgets ranked; peak
demand and demand-response events. Aggregates over several enterprises (a town, the district) are
for officers; an enterprise account sees its own enterprise everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Connection, insert, select

from services.api.deps import Ctx, Officer, Reader
from services.api.models import (
    STANDARD_PROBLEMS,
    BudgetStatusOut,
    CarrierEnergyOut,
    ConsumptionOut,
    DemandResponseIn,
    DemandResponseOut,
    DemandResponseResultOut,
    EnergyOut,
    PeakDemandOut,
)
from services.api.params import (
    Code,
    From,
    Interval,
    Meter,
    Method,
    To,
    Town,
    Tz,
    check_range,
    zone_of,
)
from services.api.problems import Problem
from services.api.render import json_body
from services.api.snapshots import ranked_response
from services.api.tenancy import known_town, visible_enterprise
from services.core.accounting import budgets, demand
from services.core.accounting.queries import (
    CarrierTotal,
    Scope,
    consumption_json,
    totals,
    totals_by_period,
)
from services.core.domain.coefficients import ElectricityMethod, default_factors
from services.core.schema.tables import dr_events, enterprises

router = APIRouter(prefix="/api/v1", tags=["energy"], responses=STANDARD_PROBLEMS)


# ------------------------------------------------------------------ consumption by scope


@router.get(
    "/enterprises/{code}/meters/{meter}/consumption",
    response_model=list[ConsumptionOut],
    summary="A meter's own consumption by period (any role, sub-meters included)",
)
def meter_consumption(
    ctx: Ctx,
    who: Reader,
    code: Code,
    meter: Meter,
    start: From,
    end: To,
    interval: Interval = "1d",
    point: Annotated[
        str | None, Query(description="Only this point's quantity, e.g. energy_import_kwh")
    ] = None,
    tz: Tz = None,
) -> Response:
    """One meter's consumption whatever its role (sub-meters and data-centre IT meters
    included, unlike the enterprise's consumption), with the meter multiplier applied."""
    check_range(ctx, start, end)
    zone = zone_of(ctx, tz)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
        scope = Scope(enterprise=code, meter=meter, quantity=point)
        body = consumption_json(
            conn, start=start, end=end, interval=interval, zone=zone, scope=scope
        )
    return json_body(body)


@router.get(
    "/towns/{town}/consumption",
    response_model=list[ConsumptionOut],
    summary="A town's consumption by period and carrier (officers)",
)
def town_consumption(
    ctx: Ctx,
    who: Officer,
    town: Town,
    start: From,
    end: To,
    interval: Interval = "1d",
    tz: Tz = None,
) -> Response:
    """The boundary meters of the town's enterprises, summed per period and carrier. An unknown
    town answers 404."""
    check_range(ctx, start, end)
    zone = zone_of(ctx, tz)
    with ctx.reads.connect() as conn:
        known_town(conn, town)
        body = consumption_json(
            conn, start=start, end=end, interval=interval, zone=zone, scope=Scope(town=town)
        )
    return json_body(body)


@router.get(
    "/district/consumption",
    response_model=list[ConsumptionOut],
    summary="The district's consumption by period and carrier (officers)",
)
def district_consumption(
    ctx: Ctx,
    who: Officer,
    start: From,
    end: To,
    interval: Interval = "1d",
    tz: Tz = None,
) -> Response:
    """The boundary meters of every enterprise, summed per period and carrier."""
    check_range(ctx, start, end)
    zone = zone_of(ctx, tz)
    with ctx.reads.connect() as conn:
        body = consumption_json(
            conn, start=start, end=end, interval=interval, zone=zone, scope=Scope()
        )
    return json_body(body)


# ------------------------------------------------------------------ tce and CO2


def energy_out(
    conn: Connection,
    ctx: Ctx,
    scope: Scope,
    label: str,
    start: datetime,
    end: datetime,
    method: str,
) -> EnergyOut:
    rows = totals(
        conn,
        default_factors(),
        start=start,
        end=end,
        zone=ctx.config.common.zone,
        method=ElectricityMethod(method),
        scope=scope,
    )
    return _energy(label, start, end, method, rows, ctx.config.common.zone)


def _label(code: str, site: str | None) -> str:
    return f"enterprise {code}" + (f" site {site}" if site else "")


def _energy(
    label: str,
    start: datetime,
    end: datetime,
    method: str,
    rows: list[CarrierTotal],
    zone: ZoneInfo,
) -> EnergyOut:
    carriers = [
        CarrierEnergyOut(
            carrier=t.carrier,
            unit=t.unit,
            amount=t.amount,
            region=t.region,
            tce=t.kgce.value / 1000 if t.kgce else None,
            tco2=t.tco2.value if t.tco2 else None,
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
        total_tce=sum(c.tce or 0.0 for c in carriers),
        total_tco2=sum(c.tco2 or 0.0 for c in carriers),
        carriers=carriers,
    )


@router.get(
    "/enterprises/{code}/energy",
    response_model=EnergyOut,
    summary="Comprehensive energy (tce) and CO2 of an enterprise or one of its sites",
)
def enterprise_energy(
    ctx: Ctx,
    who: Reader,
    code: Code,
    start: From,
    end: To,
    site: Annotated[str | None, Query(description="Only this site, e.g. dc-1")] = None,
    method: Method = "equivalent",
) -> EnergyOut:
    """Boundary meters of every carrier, converted with the factors valid at `from`
    (GB/T 2589-2020; CO2 with the enterprise's grid region); each factor and its source shown."""
    check_range(ctx, start, end)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
        scope = Scope(enterprise=code, site=site)
        return energy_out(conn, ctx, scope, _label(code, site), start, end, method)


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
    site: Annotated[str | None, Query(description="Only this site, e.g. dc-1")] = None,
    method: Method = "equivalent",
) -> list[EnergyOut]:
    """What `/enterprises/{code}/energy` answers for each local period in [from, to) — a year's
    monthly tce is one request — from one grouped query; each period converted with the
    factors valid at its start. Periods without any rollup are left out; the first and last
    periods are cut at `from` and `to`."""
    check_range(ctx, start, end)
    zone = ctx.config.common.zone
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
            scope=Scope(enterprise=code, site=site),
        )
    return [_energy(_label(code, site), p.start, p.end, method, p.carriers, zone) for p in periods]


@router.get(
    "/towns/{town}/energy",
    response_model=EnergyOut,
    summary="Comprehensive energy (tce) and CO2 of a town (officers)",
)
def town_energy(
    ctx: Ctx, who: Officer, town: Town, start: From, end: To, method: Method = "equivalent"
) -> EnergyOut:
    """As for an enterprise, over the boundary meters of every enterprise in the town (each
    enterprise's electricity with its own grid region's CO2 factor). An unknown town is 404."""
    check_range(ctx, start, end)
    with ctx.reads.connect() as conn:
        known_town(conn, town)
        return energy_out(conn, ctx, Scope(town=town), f"town {town}", start, end, method)


@router.get(
    "/district/energy",
    response_model=EnergyOut,
    summary="Comprehensive energy (tce) and CO2 of the district (officers)",
)
def district_energy(
    ctx: Ctx, who: Officer, start: From, end: To, method: Method = "equivalent"
) -> EnergyOut:
    """As for an enterprise, over the boundary meters of every enterprise of the district."""
    check_range(ctx, start, end)
    with ctx.reads.connect() as conn:
        return energy_out(conn, ctx, Scope(), "district", start, end, method)


# ------------------------------------------------------------------ budgets


def budget_rows(ctx: Ctx) -> list[tuple[int, BudgetStatusOut]]:
    """Every active budget of this year with its enterprise's id, most used first."""
    with ctx.reads.connect() as conn:
        rows = budgets.statuses(
            conn,
            default_factors(),
            now=datetime.now(UTC),
            zone=ctx.config.common.zone,
            thresholds=ctx.config.budget_thresholds,
        )
    out = [
        (
            b.enterprise_id,
            BudgetStatusOut(
                enterprise=b.enterprise,
                site=b.site or None,
                year=b.year,
                period=b.period,
                carrier=b.carrier or None,
                unit=b.unit,
                budget=b.amount,
                used=s.used,
                share_used=s.share,
                projected_run_rate=s.projected_run_rate,
                projected_last_year=s.projected_last_year,
                state=s.state.value,
            ),
        )
        for b, s in rows
    ]
    return sorted(
        out,
        key=lambda x: (
            -x[1].share_used,
            -max(x[1].projected_run_rate or 0.0, x[1].projected_last_year or 0.0) / x[1].budget,
            x[1].enterprise,
            x[1].site or "",
        ),
    )


@router.get(
    "/budgets/status",
    response_model=list[BudgetStatusOut],
    summary="Budget status of every enterprise, ranked by share used and projection",
)
def budget_ranking(ctx: Ctx, who: Reader) -> Response:
    """This year's active budgets (tce or per carrier; enterprise-wide or per site), with used to
    date, share, the run-rate and last-year projections and the state the budget alerts use.
    The ranking is computed for the district at most every `ENERGYMON_API_SNAPSHOT_TTL_S`
    seconds and shared; `Age` and `Last-Modified` say when."""
    snap = ctx.snapshots.get("budgets", lambda: budget_rows(ctx))
    return ranked_response(
        snap, list[BudgetStatusOut], None if who.sees_everything else who.enterprise_id
    )


# ------------------------------------------------------------------ demand


@router.get(
    "/enterprises/{code}/peak-demand",
    response_model=PeakDemandOut,
    summary="An enterprise's peak demand (highest 15-minute average power) in a range",
)
def peak_demand(ctx: Ctx, who: Reader, code: Code, start: From, end: To) -> PeakDemandOut:
    """The highest 15-minute electricity consumption of the enterprise's boundary meters in the
    range, times 4, and when its quarter hour started; nulls without data."""
    check_range(ctx, start, end)
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
        peak = demand.peaks(conn, [code], start, end).get(code)
    return PeakDemandOut(
        enterprise=code,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        peak_kw=peak.kw if peak else None,
        at=peak.at.astimezone(zone) if peak else None,
    )


def _event_out(row: Any, zone: ZoneInfo) -> DemandResponseOut:
    return DemandResponseOut(
        id=row.id,
        name=row.name,
        start=row.start_at.astimezone(zone),
        end=row.end_at.astimezone(zone),
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at.astimezone(zone),
    )


@router.post(
    "/demand-response/events",
    response_model=DemandResponseOut,
    status_code=201,
    summary="Record a demand-response event window (officers)",
)
def create_event(ctx: Ctx, who: Officer, body: DemandResponseIn) -> DemandResponseOut:
    """An event window that starts and ends on 15-minute slots and lasts at most one day
    (otherwise 400). Results are computed when asked for, from the readings at that time."""
    check_range(ctx, body.start, body.end)
    for t in (body.start, body.end):
        if t.minute % 15 or t.second or t.microsecond:
            raise Problem(400, "an event starts and ends on 15-minute slots", kind="invalid-range")
    if body.end - body.start > timedelta(days=1):
        raise Problem(400, "an event lasts at most one day", kind="invalid-range")
    with ctx.engine.begin() as conn:
        row = conn.execute(
            insert(dr_events)
            .values(
                name=body.name,
                start_at=body.start,
                end_at=body.end,
                note=body.note,
                created_by=who.username,
            )
            .returning(dr_events)
        ).one()
    return _event_out(row, ctx.config.common.zone)


@router.get(
    "/demand-response/events",
    response_model=list[DemandResponseOut],
    summary="Demand-response events, newest first",
)
def list_events(ctx: Ctx, who: Reader) -> list[DemandResponseOut]:
    """Every recorded event, for every role that reads; results are per enterprise."""
    with ctx.reads.connect() as conn:
        rows = conn.execute(select(dr_events).order_by(dr_events.c.start_at.desc())).all()
    return [_event_out(r, ctx.config.common.zone) for r in rows]


EventId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The event's id")]


@router.get(
    "/demand-response/events/{event_id}/results",
    response_model=list[DemandResponseResultOut],
    summary="Each enterprise's baseline and achieved reduction during an event",
)
def event_results(ctx: Ctx, who: Reader, event_id: EventId) -> list[DemandResponseResultOut]:
    """Baseline = the mean average power in the same 15-minute slots on the 5 previous similar
    days (weekdays for a weekday), skipping other event days; reduction = baseline - actual, also
    as a share of the enterprise's peak demand in the 30 days before. Enterprises without data
    in the window are listed with nulls. An enterprise account sees its own row."""
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        event = conn.execute(select(dr_events).where(dr_events.c.id == event_id)).first()
        if event is None:
            raise Problem(404, f"no event {event_id}")
        query = select(enterprises.c.code, enterprises.c.name).where(enterprises.c.active)
        if not who.sees_everything:
            query = query.where(enterprises.c.id == who.enterprise_id)
        names: dict[str, str] = dict(conn.execute(query.order_by(enterprises.c.code)).all())
        others = conn.execute(
            select(dr_events.c.start_at).where(dr_events.c.id != event_id)
        ).scalars()
        skip = [t.astimezone(zone).date() for t in others]
        results = demand.event_results(
            conn, list(names), event.start_at, event.end_at, zone, skip_days=skip
        )
    out = [
        DemandResponseResultOut(
            enterprise=r.enterprise,
            name=names[r.enterprise],
            baseline_kw=r.reduction.baseline_kw if r.reduction else None,
            actual_kw=r.reduction.actual_kw if r.reduction else None,
            reduction_kw=r.reduction.reduction_kw if r.reduction else None,
            share_of_peak=r.reduction.share_of_peak if r.reduction else None,
            peak_kw=r.peak_kw,
        )
        for r in results
    ]
    return sorted(out, key=lambda r: (r.reduction_kw is None, -(r.reduction_kw or 0.0)))
