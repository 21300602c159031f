"""Data quality in the console: the district ranked worst first (officers) and an enterprise's
summary on its page, for a local day or month, with the quality report's files — the same
figures as ``/api/v1/quality/*`` (docs/data-quality.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.api.console.access import ConsoleCtx, OfficerUser, User, enterprise_or_404, own_code
from services.api.console.views import render
from services.api.models.quality import QualityEnterpriseOut
from services.api.quality_out import district_out, enterprise_out
from services.api.routes.quality import (
    chosen_period,
    district_quality,
    enterprise_quality,
    quality_of,
)

router = APIRouter(prefix="/console", include_in_schema=False)
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$"
PeriodText = Annotated[str | None, Query(pattern=PERIOD)]
FileFormat = Annotated[str, Query(pattern="^(csv|xlsx)$")]


def enterprise_summary(ctx: ConsoleCtx, code: str) -> QualityEnterpriseOut | None:
    """Yesterday's quality report of one enterprise (None when it has nothing to report)."""
    period = chosen_period(ctx, None)
    report, _rules = quality_of(ctx, period, code)
    if not report.enterprises:
        return None
    return enterprise_out(report.enterprises[0], report, ctx.config.common.zone)


@router.get("/quality")
def district(
    ctx: ConsoleCtx, request: Request, who: OfficerUser, period: PeriodText = None
) -> Response:
    """The district's enterprises, worst data quality first, for ``period`` (default yesterday)."""
    chosen = chosen_period(ctx, period)
    report, rules = quality_of(ctx, chosen, None)
    out = district_out(report, rules, ctx.config.common.zone)
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
    return render(ctx, request, "quality.html", who=who, own=own, quality=out, period=period)


@router.get("/quality/report")
def district_file(
    ctx: ConsoleCtx, who: OfficerUser, period: PeriodText = None, format: FileFormat = "xlsx"
) -> Response:
    """The district quality report file, as ``/api/v1/quality/district`` gives it."""
    return district_quality(ctx, who, period=period or None, format=format)


@router.get("/enterprises/{code}/quality")
def enterprise_file(
    ctx: ConsoleCtx, who: User, code: str, period: PeriodText = None, format: FileFormat = "xlsx"
) -> Response:
    """An enterprise's quality report file, as ``/api/v1/quality/enterprises/{code}``."""
    with ctx.reads.connect() as conn:
        enterprise_or_404(conn, who, code)
    return enterprise_quality(ctx, who, code, period=period or None, format=format)
