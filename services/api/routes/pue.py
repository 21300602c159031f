"""Data-centre PUE over a window against the site's limit, and the district's PUE ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response

from services.api.deps import Ctx, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.pue import PueOut
from services.api.params import Code, check_instants, check_range
from services.api.problems import Problem
from services.api.render import model_response
from services.api.snapshots import Ranked, Snapshot, ranked_response
from services.api.tenancy import visible_enterprise
from services.core.domain.pue import (
    PueResult,
    PueVerdict,
    Window,
    pue_verdict,
    pue_verdict_text,
    window_bounds,
)
from services.core.domain.rounding import KWH_DIGITS, PUE_DIGITS, SHARE_DIGITS, rounded
from services.core.store.pue import all_sites_pue, site_pue
from services.core.store.sites import data_centre, data_centres

router = APIRouter(prefix="/api/v1", tags=["indicators"], responses=STANDARD_PROBLEMS)
Site = Annotated[str, Path(description="The site's code within the enterprise, e.g. dc-1")]
WindowParam = Annotated[
    str,
    Query(
        pattern="^(hour|day|mtd|ytd|rolling_24h|rolling_30d|custom)$",
        description="Calendar windows end now and start at local boundaries; custom needs from/to",
    ),
]


def _bounds(
    ctx: Ctx, *, window: str, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """[start, end) of the window: a custom one as asked (both needed, checked as any range);
    a named one ends now, unless both ends are given."""
    if window == "custom":
        if start is None or end is None:
            raise Problem(400, "a custom window needs from and to", kind="invalid-range")
        check_range(ctx, start, end)
        return start, end
    if start is None or end is None:
        return window_bounds(Window(window), datetime.now(UTC), ctx.config.common.zone)
    check_instants(start, end)
    return start, end


def _pue_out(
    *,
    enterprise: str,
    site: str,
    window: str,
    start: datetime,
    end: datetime,
    result: PueResult,
    limit: float | None,
    zone: ZoneInfo,
) -> PueOut:
    return PueOut(
        enterprise=enterprise,
        site=site,
        window=window,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        status=result.status.value,
        pue=rounded(result.ratio, PUE_DIGITS),
        limit=limit,
        over_limit=_over_limit(result, limit),
        facility_kwh=round(result.facility_kwh, KWH_DIGITS),
        it_kwh=round(result.it_kwh, KWH_DIGITS),
        facility_coverage=round(result.facility_coverage, SHARE_DIGITS),
        it_coverage=round(result.it_coverage, SHARE_DIGITS),
        verdict=pue_verdict(result, limit).value,
        verdict_text=pue_verdict_text(result, limit),
        threshold=result.threshold,
        facility_estimated=round(result.facility_estimated, SHARE_DIGITS),
        it_estimated=round(result.it_estimated, SHARE_DIGITS),
    )


def _over_limit(result: PueResult, limit: float | None) -> bool | None:
    """PUE above the limit, decided as a PUE alert opens (services/core/domain/pue.py); unknown
    without a PUE or a limit."""
    verdict = pue_verdict(result, limit)
    if verdict is PueVerdict.OVER:
        return True
    return False if verdict is PueVerdict.WITHIN else None


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
) -> Response:
    """PUE = facility energy / IT energy over the window, against the site's limit (its explicit
    `pue_limit`, else 1.25 for `new_large`/`new_super_large` and 1.5 for `existing`), with the
    `verdict` (`over`, `within`, `insufficient_data`, `no_it_load`, `no_limit`) and its words.
    `pue` is null, and the verdict `insufficient_data`, when either side's coverage (measured
    share of its expected 15-minute periods, docs/accounting.md) is below
    `ENERGYMON_MIN_COMPLETENESS` (90 %); `no_it_load` without IT energy. Figures are rounded:
    PUE 0.001, kWh 0.001, coverage 0.0001."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        dc = data_centre(conn, enterprise_id=ent.id, site=site)
    if dc is None:
        raise Problem(404, f"no data centre {site}")
    start, end = _bounds(ctx, window=window, start=start, end=end)
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        result = site_pue(
            conn,
            enterprise=code,
            site=site,
            start=start,
            end=end,
            zone=zone,
            threshold=ctx.config.common.min_completeness,
            now=datetime.now(UTC),
        )
    out = _pue_out(
        enterprise=code,
        site=site,
        window=window,
        start=start,
        end=end,
        result=result,
        limit=dc.limit,
        zone=zone,
    )
    return model_response(PueOut, out)


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
    snap = ranking_snapshot(ctx, window)
    return ranked_response(snap, list[PueOut], None if who.sees_everything else who.enterprise_id)


def ranking_snapshot(ctx: Ctx, window: str) -> Snapshot[list[Ranked[PueOut]]]:
    """The district's ranking for a named window, shared by the API and the console."""
    return ctx.snapshots.get(f"pue-ranking:{window}", lambda: _ranking(ctx, window=window))


def _ranking(ctx: Ctx, *, window: str) -> list[Ranked[PueOut]]:
    """Every active data centre of the district, worst first, with its enterprise's id."""
    zone = ctx.config.common.zone
    start, end = window_bounds(Window(window), datetime.now(UTC), zone)
    with ctx.reads.connect() as conn:  # every site in one grouped query
        sites = data_centres(conn)
        known = all_sites_pue(
            conn,
            start=start,
            end=end,
            zone=zone,
            threshold=ctx.config.common.min_completeness,
            now=datetime.now(UTC),
        )
    ranked = []
    for dc in sites:
        result = known.get(dc.site_id)
        if result is None:  # a site without rollups in the window
            with ctx.reads.connect() as conn:
                result = site_pue(
                    conn,
                    enterprise=dc.enterprise,
                    site=dc.site,
                    start=start,
                    end=end,
                    zone=zone,
                    threshold=ctx.config.common.min_completeness,
                    now=datetime.now(UTC),
                )
        row = _pue_out(
            enterprise=dc.enterprise,
            site=dc.site,
            window=window,
            start=start,
            end=end,
            result=result,
            limit=dc.limit,
            zone=zone,
        )
        ranked.append(Ranked(dc.enterprise_id, row))
    return sorted(ranked, key=lambda r: _worst_first(r.row))


def _worst_first(row: PueOut) -> tuple[bool, float, str, str]:
    return (row.pue is None, -((row.pue or 0) - (row.limit or 0)), row.enterprise, row.site)
