"""Energy intensity (能耗强度): an enterprise's unit-product energy and energy per 10^4 CNY of
value added; for officers the district aggregate, the rankings and the quota violations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.api.deps import Ctx, Officer, Reader
from services.api.intensity_out import (
    district_out,
    enterprise_out,
    ranking_out,
    violation_out,
)
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.intensity import (
    DistrictIntensityOut,
    EnterpriseIntensityOut,
    RankingOut,
    ViolationOut,
)
from services.api.params import Code
from services.api.problems import Problem
from services.api.render import json_body, model_response, render
from services.api.snapshots import Snapshot
from services.api.tenancy import visible_enterprise
from services.core.domain.coefficients import ElectricityMethod
from services.core.domain.intensity import IntensityPeriod, Window, district_intensity
from services.core.factors import default_factors
from services.core.quotas import configured_quotas
from services.core.store.intensity import EnterpriseIntensity, intensities
from services.core.store.intensity_ranking import RankBy, ranking, violations
from services.core.store.monthly import MonthsInAnotherZoneError
from services.core.store.reports import last_complete_month

Figures = list[EnterpriseIntensity]
router = APIRouter(prefix="/api/v1", tags=["indicators"], responses=STANDARD_PROBLEMS)
Year = Annotated[
    int | None, Query(ge=2000, le=2100, description="Default: the last complete month's year")
]
MonthNo = Annotated[int | None, Query(ge=1, le=12, description="Default: the last complete month")]
Period = Annotated[
    str,
    Query(
        pattern="^(month|quarter|ytd)$",
        description="month; quarter: the calendar quarter holding the month; ytd: January to it",
    ),
]
By = Annotated[
    str,
    Query(
        pattern="^(intensity|quota_distance|yoy)$",
        description="intensity: enterprises by tce/10^4 CNY; quota_distance: products by "
        "(value - 限定值) / |限定值|; yoy: enterprises by their change on last year",
    ),
]


def _window(ctx: Ctx, year: int | None, month: int | None, period: str) -> Window:
    if (year is None) != (month is None):
        raise Problem(400, "give both year and month, or neither", kind="invalid-period")
    if year is None or month is None:
        last = last_complete_month(datetime.now(UTC), ctx.config.common.zone)
        year, month = last.year, last.month
    return Window(year, month, IntensityPeriod(period))


def _figures(ctx: Ctx, window: Window, codes: list[str] | None) -> list[EnterpriseIntensity]:
    try:
        with ctx.reads.connect() as conn:
            return intensities(
                conn,
                default_factors(),
                configured_quotas(ctx.config.quotas.file),
                window,
                ctx.config.common.zone,
                codes=codes,
                method=ElectricityMethod.EQUIVALENT,
                threshold=ctx.config.common.min_completeness,
                now=datetime.now(UTC),
            )
    except MonthsInAnotherZoneError as err:
        raise Problem(409, str(err), kind="rollups-in-another-zone") from err


def intensity_window(ctx: Ctx, year: int | None, month: int | None, period: str) -> Window:
    """The window asked for, by default the last complete month (400 for half a month)."""
    return _window(ctx, year, month, period)


def intensity_snapshot(ctx: Ctx, window: Window) -> Snapshot[Figures]:
    """Every enterprise's figures for ``window``, computed once per window and shared for the
    snapshot TTL by the API and the console."""
    key = f"intensity:{window.year}-{window.month}:{window.period.value}"
    return ctx.snapshots.get(key, lambda: _figures(ctx, window, None))


def _district(ctx: Ctx, window: Window, answer: str, make: Callable[[Figures], bytes]) -> Response:
    """``answer`` (rendered by ``make``) from the window's snapshot; each answer is rendered
    once per snapshot."""
    snap = intensity_snapshot(ctx, window)
    return json_body(snap.memo(answer, make), snap.headers())


@router.get(
    "/enterprises/{code}/intensity",
    response_model=EnterpriseIntensityOut,
    summary="An enterprise's energy intensity: its products against their quotas, per value added",
)
def enterprise_intensity(
    ctx: Ctx,
    who: Reader,
    code: Code,
    year: Year = None,
    month: MonthNo = None,
    period: Period = "month",
) -> Response:
    """Per product: unit-product comprehensive energy consumption (kgce per the product's unit,
    GB/T 2589-2020) over the period and the same months last year, the change, and the verdict
    against its quota standard (`over_limit`, `above_entry`, `within`, `leader`,
    `insufficient_data`, `no_quota`) with the clause. For the enterprise: energy per 10^4 CNY of
    value added (tce/10^4 CNY) and its change. Every figure lists its carriers (amount, factor,
    source, kgce), the production entries (value, revision, who) and the completeness; a figure
    on completeness below `ENERGYMON_MIN_COMPLETENESS`, with a month without production figures
    or without attributed meters has `value` null and the `reason`."""
    window = _window(ctx, year, month, period)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
    found = _figures(ctx, window, [code])
    if not found:
        raise Problem(404, f"no enterprise {code}")
    out = enterprise_out(found[0], ctx.config.common.min_completeness)
    return model_response(EnterpriseIntensityOut, out)


@router.get(
    "/district/intensity",
    response_model=DistrictIntensityOut,
    summary="The district's energy per 10^4 CNY of value added and its decline on last year",
)
def district_intensity_route(
    ctx: Ctx, who: Officer, year: Year = None, month: MonthNo = None, period: Period = "month"
) -> Response:
    """Σ energy (tce) / Σ value added (10^4 CNY) over the enterprises with sufficient data; its
    decline on the same months last year over the enterprises with data in both years, judged
    against `ENERGYMON_INTENSITY_TARGET_DECLINE` (unset: "no target set"). Enterprises left
    out are listed with the reason."""
    window = _window(ctx, year, month, period)
    target = ctx.config.intensity.target_decline

    def make(found: Figures) -> bytes:
        d = district_intensity(window, [(e.current, e.previous) for e in found], target)
        return render(DistrictIntensityOut, district_out(d, found))

    return _district(ctx, window, "district", make)


@router.get(
    "/district/intensity/ranking",
    response_model=RankingOut,
    summary="Enterprises or products ranked by intensity, quota distance or change on last year",
)
def intensity_ranking(
    ctx: Ctx,
    who: Officer,
    year: Year = None,
    month: MonthNo = None,
    period: Period = "month",
    by: By = "intensity",
) -> Response:
    """Highest first; rows without a figure (insufficient data, no comparison, no quota) are
    listed apart in `insufficient` with the reason, never ranked. Computed for the district at
    most every `ENERGYMON_API_SNAPSHOT_TTL_S` seconds and shared."""
    window = _window(ctx, year, month, period)

    def make(found: Figures) -> bytes:
        return render(RankingOut, ranking_out(ranking(found, RankBy(by)), window.label))

    return _district(ctx, window, f"ranking:{by}", make)


@router.get(
    "/district/quota-violations",
    response_model=list[ViolationOut],
    summary="Products over their quota's binding value",
)
def quota_violations(
    ctx: Ctx, who: Officer, year: Year = None, month: MonthNo = None, period: Period = "month"
) -> Response:
    """Products whose unit-product energy is over the 限定值 (existing plants) or the 准入值
    (new plants) of their quota standard, furthest above first, with the value, the limit, the
    standard and its clause. Figures on insufficient data are never violations."""
    window = _window(ctx, year, month, period)

    def make(found: Figures) -> bytes:
        return render(list[ViolationOut], [violation_out(e, p) for e, p in violations(found)])

    return _district(ctx, window, "violations", make)
