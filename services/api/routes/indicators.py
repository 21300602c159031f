"""Indicators: consumption by period, data-centre PUE by window, and the district's PUE ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import text

from services.api.deps import Ctx, Reader
from services.api.models import STANDARD_PROBLEMS, ConsumptionOut, PueOut
from services.api.params import Code, From, Interval, To, Tz, check_range, zone_of
from services.api.problems import Problem
from services.api.render import json_body
from services.api.snapshots import ranked_response
from services.api.tenancy import visible_enterprise
from services.core.accounting.queries import Scope, all_sites_pue, consumption_json, site_pue
from services.core.domain.pue import PueResult, Window, pue_limit, window_bounds

router = APIRouter(prefix="/api/v1", tags=["indicators"], responses=STANDARD_PROBLEMS)
Site = Annotated[str, Path(description="The site's code within the enterprise, e.g. dc-1")]
WindowParam = Annotated[
    str,
    Query(
        pattern="^(hour|day|mtd|ytd|rolling_24h|rolling_30d|custom)$",
        description="Calendar windows end now and start at local boundaries; custom needs from/to",
    ),
]


@router.get(
    "/enterprises/{code}/consumption",
    response_model=list[ConsumptionOut],
    summary="Consumption by period and carrier",
)
def enterprise_consumption(
    ctx: Ctx,
    who: Reader,
    code: Code,
    start: From,
    end: To,
    interval: Interval = "1d",
    site: Annotated[str | None, Query(description="Only this site, e.g. plant-1")] = None,
    tz: Tz = None,
) -> Response:
    """Boundary meters only (incomers, fuel receipts, data-centre facility meters); amounts in
    the point's unit with the meter multiplier applied; periods in `tz` (default the platform's)."""
    check_range(ctx, start, end)
    zone = zone_of(ctx, tz)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
        body = consumption_json(
            conn,
            start=start,
            end=end,
            interval=interval,
            zone=zone,
            scope=Scope(enterprise=code, site=site),
        )
    return json_body(body)


def _pue(
    ctx: Ctx,
    code: str,
    site: str,
    dc_class: str | None,
    explicit: float | None,
    window: str,
    start: datetime | None,
    end: datetime | None,
    known: PueResult | None = None,
) -> PueOut:
    zone = ctx.config.common.zone
    if window == "custom":
        if start is None or end is None:
            raise Problem(400, "a custom window needs from and to", kind="invalid-range")
        check_range(ctx, start, end)
    elif start is None or end is None:
        start, end = window_bounds(Window(window), datetime.now(UTC), zone)
    r = known
    if r is None:
        with ctx.reads.connect() as conn:
            r = site_pue(conn, enterprise=code, site=site, start=start, end=end, zone=zone)
    limit = pue_limit(dc_class, explicit)
    return PueOut(
        enterprise=code,
        site=site,
        window=window,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        status=r.status.value,
        pue=r.ratio,
        limit=limit,
        over_limit=(r.ratio > limit) if r.ratio is not None and limit else None,
        facility_kwh=r.facility_kwh,
        it_kwh=r.it_kwh,
        facility_coverage=r.facility_coverage,
        it_coverage=r.it_coverage,
    )


@router.get(
    "/enterprises/{code}/sites/{site}/pue",
    response_model=PueOut,
    summary="A data centre's PUE over a window",
)
def data_centre_pue(
    ctx: Ctx,
    who: Reader,
    code: Code,
    site: Site,
    window: WindowParam = "ytd",
    start: Annotated[
        datetime | None, Query(alias="from", description="Start of a custom window (with offset)")
    ] = None,
    end: Annotated[
        datetime | None,
        Query(alias="to", description="End (exclusive) of a custom window (with offset)"),
    ] = None,
) -> PueOut:
    """PUE = facility energy / IT energy over the window, against the site's limit (its explicit
    `pue_limit`, else 1.25 for `new_large`/`new_super_large` and 1.5 for `existing`). `pue` is
    null with `status` `insufficient_data` when either meter covers under 90 % of the window,
    or `no_it_load` without IT energy."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        row = conn.execute(
            text(
                "SELECT dc_class, pue_limit FROM sites WHERE enterprise_id = :e "
                "AND code = :s AND kind = 'data_centre'"
            ),
            {"e": ent.id, "s": site},
        ).first()
    if row is None:
        raise Problem(404, f"no data centre {site}")
    explicit = float(row.pue_limit) if row.pue_limit is not None else None
    return _pue(ctx, code, site, row.dc_class, explicit, window, start, end)


@router.get(
    "/data-centres/pue-ranking",
    response_model=list[PueOut],
    summary="Data centres ranked by PUE against their limits",
)
def pue_ranking(ctx: Ctx, who: Reader, window: WindowParam = "ytd") -> Response:
    """Worst first: over-limit sites by how far above their limit, then the rest, then sites
    without a PUE (insufficient data). An enterprise account sees only its own sites. The
    ranking is computed for the district at most every `ENERGYMON_API_SNAPSHOT_TTL_S` seconds
    and shared; `Age` and `Last-Modified` say when."""
    if window == "custom":
        raise Problem(400, "the ranking takes a named window", kind="invalid-range")
    snap = ctx.snapshots.get(f"pue-ranking:{window}", lambda: _ranking(ctx, window))
    return ranked_response(snap, list[PueOut], None if who.sees_everything else who.enterprise_id)


def _ranking(ctx: Ctx, window: str) -> list[tuple[int, PueOut]]:
    """Every active data centre of the district, ranked, with its enterprise's id."""
    zone = ctx.config.common.zone
    start, end = window_bounds(Window(window), datetime.now(UTC), zone)
    with ctx.reads.connect() as conn:  # every site in one grouped query
        sites = conn.execute(
            text(
                "SELECT s.id, e.id AS ent_id, e.code, s.code AS site, s.dc_class, s.pue_limit "
                "FROM sites s JOIN enterprises e ON e.id = s.enterprise_id "
                "WHERE s.kind = 'data_centre' AND s.active AND e.active ORDER BY e.code, s.code"
            )
        ).all()
        known = all_sites_pue(conn, start=start, end=end, zone=zone)
    results = [
        (
            int(r.ent_id),
            _pue(
                ctx,
                r.code,
                r.site,
                r.dc_class,
                float(r.pue_limit) if r.pue_limit is not None else None,
                window,
                start,
                end,
                known.get(int(r.id)),
            ),
        )
        for r in sites
    ]
    return sorted(
        results,
        key=lambda x: (
            x[1].pue is None,
            -((x[1].pue or 0) - (x[1].limit or 0)),
            x[1].enterprise,
            x[1].site,
        ),
    )
