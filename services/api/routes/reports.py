"""Monthly reports: an enterprise's energy report and the district summary, as JSON, CSV or
XLSX (the same figures in each; the format only changes the layout)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from services.api.deps import Ctx, Officer, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.reports import (
    DistrictEnterpriseOut,
    DistrictReportOut,
    DistrictTownOut,
    EnterpriseReportOut,
    ReportBudgetOut,
    ReportCarrierOut,
    ReportDataCentreOut,
    ReportIntensityOut,
)
from services.api.params import Code, FileFormat, Method
from services.api.problems import Problem
from services.api.render import file_response, model_response
from services.api.report_files import (
    CSV,
    FILES,
    district_enterprises,
    district_tables,
    enterprise_tables,
    sections_file,
    table_csv,
    workbook,
)
from services.api.tenancy import visible_enterprise
from services.api.xlsx import XLSX
from services.core.domain.coefficients import ElectricityMethod
from services.core.domain.rounding import (
    AMOUNT_DIGITS,
    INTENSITY_DIGITS,
    KWH_DIGITS,
    PUE_DIGITS,
    SHARE_DIGITS,
    TCE_DIGITS,
    TCO2_DIGITS,
    amount_digits,
    rounded,
)
from services.core.factors import default_factors
from services.core.quotas import configured_quotas
from services.core.store.reports import (
    EnterpriseReport,
    IntensityLine,
    Month,
    enterprise_reports,
    last_complete_month,
)

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=STANDARD_PROBLEMS)
MonthParam = Annotated[
    str | None,
    Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default the last full month"),
]
_SEVERITY = {"ok": 0, "warning": 1, "projected_overrun": 2, "exceeded": 3}


def _month(ctx: Ctx, month: str | None) -> Month:
    zone = ctx.config.common.zone
    try:
        chosen = Month.parse(month) if month else last_complete_month(datetime.now(UTC), zone)
    except ValueError as err:  # e.g. year 0000, which the pattern lets through
        raise Problem(400, f"no such month: {month}", kind="invalid-range") from err
    if not 2000 <= chosen.year <= 2100:
        raise Problem(400, "the month is out of range", kind="invalid-range")
    return chosen


def _reports(
    ctx: Ctx, *, month: Month, codes: list[str] | None, method: str
) -> list[EnterpriseReport]:
    with ctx.reads.connect() as conn:
        return enterprise_reports(
            conn,
            default_factors(),
            month,
            ctx.config.common.zone,
            codes=codes,
            method=ElectricityMethod(method),
            thresholds=ctx.config.budget_thresholds,
            min_completeness=ctx.config.common.min_completeness,
            now=datetime.now(UTC),
            quotas=configured_quotas(ctx.config.quotas.file),
        )


def _dc_out(d: Any, *, enterprise: str) -> ReportDataCentreOut:
    return ReportDataCentreOut(
        enterprise=enterprise,
        site=d.site,
        dc_class=d.dc_class,
        limit=d.limit,
        pue=rounded(d.pue, PUE_DIGITS),
        status=d.status,
        facility_kwh=round(d.facility_kwh, KWH_DIGITS),
        it_kwh=round(d.it_kwh, KWH_DIGITS),
        coverage=round(d.coverage, SHARE_DIGITS),
        over_limit=d.over_limit,
        verdict=d.verdict,
        verdict_text=d.verdict_text,
        facility_coverage=round(d.facility_coverage, SHARE_DIGITS),
        it_coverage=round(d.it_coverage, SHARE_DIGITS),
    )


def _carrier_out(c: Any) -> ReportCarrierOut:
    return ReportCarrierOut(
        carrier=c.carrier,
        unit=c.unit,
        amount=round(c.amount, AMOUNT_DIGITS),
        completeness=round(c.completeness, SHARE_DIGITS),
        estimated=c.estimated,
        tce=rounded(c.tce, TCE_DIGITS),
        tco2=rounded(c.tco2, TCO2_DIGITS),
        coal_source=c.coal_source,
        co2_source=c.co2_source,
        estimated_share=round(c.estimated_share, SHARE_DIGITS),
    )


def enterprise_out(r: EnterpriseReport, *, zone: ZoneInfo) -> EnterpriseReportOut:
    return EnterpriseReportOut(
        enterprise=r.code,
        name=r.name,
        town=r.town,
        industry=r.industry,
        grid_region=r.grid_region,
        month=r.month,
        start=r.start.astimezone(zone),
        end=r.end.astimezone(zone),
        method=r.method,
        total_tce=round(r.total_tce, TCE_DIGITS),
        total_tco2=round(r.total_tco2, TCO2_DIGITS),
        completeness=rounded(r.completeness, SHARE_DIGITS),
        estimated_share=rounded(r.estimated_share, SHARE_DIGITS),
        carriers=[_carrier_out(c) for c in r.carriers],
        budgets=[
            ReportBudgetOut(
                site=b.site,
                period=b.period,
                carrier=b.carrier,
                unit=b.unit,
                budget=b.budget,
                used=round(b.used, amount_digits(b.unit)),
                share_used=round(b.share_used, SHARE_DIGITS),
                projected=rounded(b.projected, amount_digits(b.unit)),
                state=b.state,
                coverage=rounded(b.coverage, SHARE_DIGITS),
                data_sufficient=b.data_sufficient,
                verdict=b.verdict,
            )
            for b in r.budgets
        ],
        data_centres=[_dc_out(d, enterprise=r.code) for d in r.data_centres],
        intensity=[_intensity_out(i) for i in r.intensity],
    )


def _intensity_out(i: IntensityLine) -> ReportIntensityOut:
    return ReportIntensityOut(
        subject=i.subject,
        code=i.code,
        name=i.name,
        value=rounded(i.value, INTENSITY_DIGITS),
        unit=i.unit,
        energy_tce=round(i.energy_tce, TCE_DIGITS),
        method=i.method,
        output=i.output,
        output_unit=i.output_unit,
        completeness=round(i.completeness, SHARE_DIGITS),
        verdict=i.verdict,
        verdict_text=i.verdict_text,
        quota=i.quota,
        yoy_change=rounded(i.yoy_change, SHARE_DIGITS),
        yoy_text=i.yoy_text,
        reason=i.reason,
    )


def district_out(
    reports: Sequence[EnterpriseReport], *, month: Month, method: str, zone: ZoneInfo
) -> DistrictReportOut:
    rows = []
    towns: dict[str, DistrictTownOut] = {}
    sources: set[str] = set()
    for r in reports:
        kwh = sum(c.amount for c in r.carriers if c.carrier == "electricity")
        worst = max(
            r.budgets, key=lambda b: (_SEVERITY.get(b.state, 0), b.share_used), default=None
        )
        rows.append(
            DistrictEnterpriseOut(
                enterprise=r.code,
                name=r.name,
                town=r.town,
                industry=r.industry,
                electricity_kwh=round(kwh, KWH_DIGITS),
                tce=round(r.total_tce, TCE_DIGITS),
                tco2=round(r.total_tco2, TCO2_DIGITS),
                budget_share_used=rounded(
                    max((b.share_used for b in r.budgets), default=None), SHARE_DIGITS
                ),
                budget_state=worst.state if worst else None,
                data_centres_over_limit=sum(1 for d in r.data_centres if d.over_limit),
                completeness=rounded(r.completeness, SHARE_DIGITS),
            )
        )
        t = towns.setdefault(
            r.town, DistrictTownOut(town=r.town, enterprises=0, electricity_kwh=0, tce=0, tco2=0)
        )
        t.enterprises += 1
        t.electricity_kwh += kwh
        t.tce += r.total_tce
        t.tco2 += r.total_tco2
        sources |= {s for c in r.carriers for s in (c.coal_source, c.co2_source) if s}
    for t in towns.values():  # summed unrounded, rounded once
        t.electricity_kwh = round(t.electricity_kwh, KWH_DIGITS)
        t.tce = round(t.tce, TCE_DIGITS)
        t.tco2 = round(t.tco2, TCO2_DIGITS)
    start, end = month.bounds(zone)
    return DistrictReportOut(
        month=str(month),
        start=start,
        end=end,
        method=method,
        total_tce=round(sum(r.total_tce for r in reports), TCE_DIGITS),
        total_tco2=round(sum(r.total_tco2 for r in reports), TCO2_DIGITS),
        enterprises=sorted(rows, key=lambda r: (-r.tce, r.enterprise)),
        towns=sorted(towns.values(), key=lambda t: (-t.tce, t.town)),
        data_centres=[_dc_out(d, enterprise=r.code) for r in reports for d in r.data_centres],
        sources=sorted(sources),
    )


@router.get(
    "/reports/enterprises/{code}/monthly",
    response_model=EnterpriseReportOut,
    responses=FILES,
    summary="An enterprise's monthly energy report (JSON, CSV or XLSX)",
)
def enterprise_monthly(
    ctx: Ctx,
    who: Reader,
    code: Code,
    month: MonthParam = None,
    format: FileFormat = "json",
    method: Method = "equivalent",
) -> Response:
    """Consumption by carrier with completeness, comprehensive energy (tce) and CO2 with the
    factor sources, this year's budgets as of the month's end, each data centre's PUE for the
    month against its limit, and the share of expected readings that arrived. The CSV is one
    table of sections (`section,item,...`); the XLSX has one sheet per section."""
    chosen = _month(ctx, month)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
    [report] = _reports(ctx, month=chosen, codes=[code], method=method)
    out = enterprise_out(report, zone=ctx.config.common.zone)
    if format == "json":
        return model_response(EnterpriseReportOut, out)
    return sections_file(enterprise_tables(out), format=format, name=f"energymon-{code}-{chosen}")


@router.get(
    "/reports/district/monthly",
    response_model=DistrictReportOut,
    responses=FILES,
    summary="The district's monthly summary (officers; JSON, CSV or XLSX)",
)
def district_monthly(
    ctx: Ctx,
    who: Officer,
    month: MonthParam = None,
    format: FileFormat = "json",
    method: Method = "equivalent",
) -> Response:
    """Every enterprise's electricity, tce, CO2, budget position, data centres over their
    limit and data completeness, ranked by tce; the towns; every data centre's PUE for the
    month; the conversion factor sources used."""
    chosen = _month(ctx, month)
    reports = _reports(ctx, month=chosen, codes=None, method=method)
    out = district_out(reports, month=chosen, method=method, zone=ctx.config.common.zone)
    if format == "json":
        return model_response(DistrictReportOut, out)
    name = f"energymon-district-{chosen}"
    if format == "csv":
        return file_response(
            table_csv(district_enterprises(out)), media_type=CSV, filename=f"{name}.csv"
        )
    return file_response(workbook(district_tables(out)), media_type=XLSX, filename=f"{name}.xlsx")
