"""The data-quality report: an enterprise's (its own account, officers) and the district's
ranked by quality (officers), for a local day or month, as JSON, CSV or XLSX."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.api.deps import Ctx, Officer, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.quality import QualityDistrictOut, QualityEnterpriseOut
from services.api.params import Code, FileFormat
from services.api.problems import Problem
from services.api.quality_out import (
    district_out,
    district_tables,
    enterprise_out,
    enterprise_tables,
)
from services.api.render import file_response, model_response
from services.api.report_files import CSV, FILES, sections_file, table_csv, workbook
from services.api.tenancy import visible_enterprise
from services.api.xlsx import XLSX
from services.core.errors import EnergymonError
from services.core.store.quality_report import Period, QualityReport, QualityRules, quality_report

router = APIRouter(prefix="/api/v1", tags=["quality"], responses=STANDARD_PROBLEMS)
PeriodParam = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$",
        description="A local day YYYY-MM-DD or month YYYY-MM; default yesterday",
    ),
]


def chosen_period(ctx: Ctx, text: str | None) -> Period:
    zone = ctx.config.common.zone
    if text is None:
        text = (datetime.now(UTC).astimezone(zone).date() - timedelta(days=1)).isoformat()
    try:
        period = Period.parse(text)
    except EnergymonError as err:
        raise Problem(400, str(err), kind="invalid-range") from err
    if not 2000 <= period.first_day.year <= 2100:
        raise Problem(400, "the period is out of range", kind="invalid-range")
    return period


def quality_of(
    ctx: Ctx, period: Period, enterprise: str | None
) -> tuple[QualityReport, QualityRules]:
    rules = QualityRules.from_settings(
        ctx.config.quality, ctx.config.alerts, min_completeness=ctx.config.common.min_completeness
    )
    with ctx.reads.connect() as conn:
        report = quality_report(
            conn,
            period=period,
            zone=ctx.config.common.zone,
            now=datetime.now(UTC),
            rules=rules,
            enterprise=enterprise,
        )
    return report, rules


@router.get(
    "/quality/enterprises/{code}",
    response_model=QualityEnterpriseOut,
    responses=FILES,
    summary="An enterprise's data-quality report for a day or month (JSON, CSV or XLSX)",
)
def enterprise_quality(
    ctx: Ctx, who: Reader, code: Code, period: PeriodParam = None, format: FileFormat = "json"
) -> Response:
    """Per site and point: completeness (measured / expected 15-minute intervals) and the
    estimated share; silent meters and their last reading; counter events; late readings;
    conflicting re-sends (both values); the daily rollups against the period; dead letters
    naming the enterprise by reason; each parent meter's balance against its sub-meters per
    day. The CSV is one table of sections; the XLSX has one sheet per section."""
    chosen = chosen_period(ctx, period)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
    report, _rules = quality_of(ctx, chosen, code)
    if not report.enterprises:
        raise Problem(404, f"no active enterprise {code}")
    out = enterprise_out(report.enterprises[0], report, ctx.config.common.zone)
    if format == "json":
        return model_response(QualityEnterpriseOut, out)
    return sections_file(
        enterprise_tables(out), format=format, name=f"energymon-quality-{code}-{chosen.label}"
    )


@router.get(
    "/quality/district",
    response_model=QualityDistrictOut,
    responses=FILES,
    summary="The district ranked by data quality, worst first (officers; JSON, CSV or XLSX)",
)
def district_quality(
    ctx: Ctx, who: Officer, period: PeriodParam = None, format: FileFormat = "json"
) -> Response:
    """Every active enterprise ranked by completeness (lowest first), then by findings: silent
    meters, balance deviations, points whose days do not add up, conflicting re-sends, late
    readings, counter events, dead letters. The CSV is the ranking; the XLSX adds every
    enterprise's points, balances and conflicts and the dead letters naming no enterprise."""
    chosen = chosen_period(ctx, period)
    report, rules = quality_of(ctx, chosen, None)
    zone = ctx.config.common.zone
    out = district_out(report, rules, zone)
    if format == "json":
        return model_response(QualityDistrictOut, out)
    name = f"energymon-quality-district-{chosen.label}"
    if format == "csv":
        return file_response(
            table_csv(district_tables(out, [])[0]), media_type=CSV, filename=f"{name}.csv"
        )
    details = [enterprise_out(e, report, zone) for e in report.enterprises]
    return file_response(
        workbook(district_tables(out, details)), media_type=XLSX, filename=f"{name}.xlsx"
    )
