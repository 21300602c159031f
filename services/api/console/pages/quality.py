"""Data quality in the console: the district ranked worst first (officers) and an enterprise's
summary on its page, for a local day or month, with the quality report's files — the same
figures as ``/api/v1/quality/*`` (docs/data-quality.md)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from services.api.console.access import ConsoleCtx, OfficerUser, User, enterprise_or_404, own_code
from services.api.console.energy_tables import Gettext
from services.api.console.pages.enterprise_tables import about
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render
from services.api.models.quality import QualityDistrictOut, QualityEnterpriseOut
from services.api.quality_out import district_out, enterprise_out
from services.api.routes.quality import (
    chosen_period,
    district_quality,
    enterprise_quality,
    quality_of,
)
from services.core.store.registry import Enterprise

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


def enterprise_tables(ent: Enterprise, q: QualityEnterpriseOut, _: Gettext) -> list[Table]:
    """The summary's silent meters and parent-meter balance deviations."""
    period = (_("Period"), q.period)
    meter_page = f"/console/enterprises/{ent.code}/meters/"
    silent = table(
        "quality-silent",
        _("Silent meters"),
        (Column(_("Silent meter")), Column(_("Site")), Column(_("Last reading"), kind=Kind.TIME)),
        [
            Row((s.meter, s.site, s.since), links={0: meter_page + quote(s.meter, safe="")})
            for s in q.silent_meters
        ],
        filters=(about(ent, _), period),
    )
    deviations = [b for b in q.balances if b.verdict == "deviation"]
    balances = table(
        "quality-balances",
        _("Balance deviations"),
        (
            Column(_("Day")),
            Column(_("Parent meter")),
            Column(_("Unit")),
            Column(_("Parent"), kind=Kind.NUMBER, places=1),
            Column(_("Sub-meters"), kind=Kind.NUMBER, places=1),
            Column(_("Deviation"), kind=Kind.SHARE),
        ),
        [(b.day, b.meter, b.unit, b.parent, b.sub_meters_total, b.deviation) for b in deviations],
        filters=(about(ent, _), period),
    )
    return [silent, balances]


def ranking_table(q: QualityDistrictOut, _: Gettext) -> Table:
    """The district's enterprises, worst data quality first."""
    count = (Kind.INTEGER, None)
    return table(
        "quality-ranking",
        _("Enterprises, worst data quality first"),
        (
            Column("#", kind=Kind.INTEGER),
            Column(_("Enterprise")),
            Column(_("Town")),
            Column(_("Completeness"), kind=Kind.SHARE),
            Column(_("Estimated"), kind=Kind.SHARE),
            Column(_("Silent meters"), "", *count),
            Column(_("Balance deviations"), "", *count),
            Column(_("Conflicts"), "", *count),
            Column(_("Late readings"), "", *count),
            Column(_("Counter events"), "", *count),
            Column(_("Dead letters"), "", *count),
        ),
        [
            Row(
                (
                    e.rank,
                    e.name,
                    e.town,
                    e.completeness,
                    e.estimated_share,
                    e.silent_meters,
                    e.balance_deviations,
                    e.conflicts,
                    e.late_readings,
                    e.counter_events,
                    e.dead_letters,
                ),
                links={1: f"/console/enterprises/{e.enterprise}#quality"},
                attrs={"class": "low"} if e.completeness < q.completeness_threshold else {},
            )
            for e in q.enterprises
        ],
        filters=((_("Period"), q.period),),
    )


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
    tables = [ranking_table(out, gettext_for(request))]
    return render(
        ctx, request, "quality.html", who=who, own=own, quality=out, period=period, tables=tables
    )


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
