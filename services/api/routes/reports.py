"""Monthly reports: an enterprise's energy report and the district summary, as JSON, CSV or
XLSX (the same figures in each; the format only changes the layout)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from openpyxl import Workbook

from services.api.deps import Ctx, Officer, Reader
from services.api.models import (
    STANDARD_PROBLEMS,
    DistrictEnterpriseOut,
    DistrictReportOut,
    DistrictTownOut,
    EnterpriseReportOut,
    ReportBudgetOut,
    ReportCarrierOut,
    ReportDataCentreOut,
)
from services.api.params import Code, Method
from services.api.problems import Problem
from services.api.tenancy import visible_enterprise
from services.core.accounting.reports import (
    EnterpriseReport,
    Month,
    enterprise_reports,
    last_complete_month,
)
from services.core.domain.coefficients import ElectricityMethod, default_factors

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=STANDARD_PROBLEMS)

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON by default; `format=csv` or `format=xlsx` for a file",
    }
}
MonthParam = Annotated[
    str | None,
    Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default the last full month"),
]
Format = Annotated[str, Query(pattern="^(json|csv|xlsx)$", description="json, csv or xlsx")]
_SEVERITY = {"ok": 0, "warning": 1, "projected_overrun": 2, "exceeded": 3}


def _month(ctx: Ctx, month: str | None) -> Month:
    try:
        chosen = Month.parse(month) if month else last_complete_month(datetime.now(UTC), _zone(ctx))
    except ValueError as err:  # e.g. year 0000, which the pattern lets through
        raise Problem(400, f"no such month: {month}", kind="invalid-range") from err
    if not 2000 <= chosen.year <= 2100:
        raise Problem(400, "the month is out of range", kind="invalid-range")
    return chosen


def _zone(ctx: Ctx) -> Any:
    return ctx.config.common.zone


def _reports(ctx: Ctx, month: Month, codes: list[str] | None, method: str) -> list[Any]:
    with ctx.reads.connect() as conn:
        return enterprise_reports(
            conn,
            default_factors(),
            month,
            _zone(ctx),
            codes=codes,
            method=ElectricityMethod(method),
            thresholds=ctx.config.budget_thresholds,
        )


def _dc_out(code: str, d: Any) -> ReportDataCentreOut:
    return ReportDataCentreOut(
        enterprise=code,
        site=d.site,
        dc_class=d.dc_class,
        limit=d.limit,
        pue=d.pue,
        status=d.status,
        facility_kwh=d.facility_kwh,
        it_kwh=d.it_kwh,
        coverage=d.coverage,
        over_limit=d.over_limit,
    )


def enterprise_out(r: EnterpriseReport, zone: Any) -> EnterpriseReportOut:
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
        total_tce=r.total_tce,
        total_tco2=r.total_tco2,
        completeness=r.completeness,
        carriers=[ReportCarrierOut(**vars_of(c)) for c in r.carriers],
        budgets=[
            ReportBudgetOut(
                site=b.site,
                period=b.period,
                carrier=b.carrier,
                unit=b.unit,
                budget=b.budget,
                used=b.used,
                share_used=b.share_used,
                projected=b.projected,
                state=b.state,
            )
            for b in r.budgets
        ],
        data_centres=[_dc_out(r.code, d) for d in r.data_centres],
    )


def vars_of(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def district_out(
    reports: Sequence[EnterpriseReport], month: Month, method: str, zone: Any
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
                electricity_kwh=kwh,
                tce=r.total_tce,
                tco2=r.total_tco2,
                budget_share_used=max((b.share_used for b in r.budgets), default=None),
                budget_state=worst.state if worst else None,
                data_centres_over_limit=sum(1 for d in r.data_centres if d.over_limit),
                completeness=r.completeness,
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
    start, end = month.bounds(zone)
    return DistrictReportOut(
        month=str(month),
        start=start,
        end=end,
        method=method,
        total_tce=sum(r.tce for r in rows),
        total_tco2=sum(r.tco2 for r in rows),
        enterprises=sorted(rows, key=lambda r: (-r.tce, r.enterprise)),
        towns=sorted(towns.values(), key=lambda t: (-t.tce, t.town)),
        data_centres=[_dc_out(r.code, d) for r in reports for d in r.data_centres],
        sources=sorted(sources),
    )


# ------------------------------------------------------------------ rendering


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _xlsx(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _file(body: str | bytes, media: str, name: str) -> Response:
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# (sheet, [(column header, field)]) of an enterprise report's tables after its summary
_CARRIER_COLUMNS = [
    ("carrier", "carrier"),
    ("unit", "unit"),
    ("amount", "amount"),
    ("completeness", "completeness"),
    ("estimated", "estimated"),
    ("tce", "tce"),
    ("tco2", "tco2"),
    ("coal_factor_source", "coal_source"),
    ("co2_factor_source", "co2_source"),
]
_BUDGET_COLUMNS = [(f, f) for f in ReportBudgetOut.model_fields]
_DC_COLUMNS = [
    ("class" if f == "dc_class" else f, f)
    for f in ReportDataCentreOut.model_fields
    if f != "enterprise"
]
_SUMMARY = ["enterprise", "name", "town", "industry", "month", "method", "total_tce", "total_tco2"]


def _table(
    title: str, columns: list[tuple[str, str]], items: Sequence[Any]
) -> tuple[str, list[str], list[list[Any]]]:
    return title, [h for h, _ in columns], [[getattr(i, f) for _, f in columns] for i in items]


def _enterprise_tables(r: EnterpriseReportOut) -> list[tuple[str, list[str], list[list[Any]]]]:
    summary = [[k, getattr(r, k)] for k in (*_SUMMARY, "completeness")]
    return [
        ("Summary", ["item", "value"], summary),
        _table("Energy", _CARRIER_COLUMNS, r.carriers),
        _table("Budgets", _BUDGET_COLUMNS, r.budgets),
        _table("Data centres", _DC_COLUMNS, r.data_centres),
    ]


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
    format: Format = "json",
    method: Method = "equivalent",
) -> Any:
    """Consumption by carrier with completeness, comprehensive energy (tce) and CO2 with the
    factor sources, this year's budgets as of the month's end, each data centre's PUE for the
    month against its limit, and the share of expected readings that arrived. The CSV is one
    table of sections (`section,item,...`); the XLSX has one sheet per section."""
    chosen = _month(ctx, month)
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
    [report] = _reports(ctx, chosen, [code], method)
    out = enterprise_out(report, _zone(ctx))
    if format == "json":
        return out
    tables = _enterprise_tables(out)
    name = f"energymon-{code}-{chosen}"
    if format == "xlsx":
        return _file(_xlsx(tables), XLSX, f"{name}.xlsx")
    rows = [[title, *row] for title, _, body in tables for row in body]
    width = max(len(r) for r in rows)
    return _file(_csv(["section", *(f"c{i}" for i in range(1, width))], rows), CSV, f"{name}.csv")


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
    format: Format = "json",
    method: Method = "equivalent",
) -> Any:
    """Every enterprise's electricity, tce, CO2, budget position, data centres over their
    limit and data completeness, ranked by tce; the towns; every data centre's PUE for the
    month; the conversion factor sources used."""
    chosen = _month(ctx, month)
    out = district_out(_reports(ctx, chosen, None, method), chosen, method, _zone(ctx))
    if format == "json":
        return out
    header = list(DistrictEnterpriseOut.model_fields)
    rows = [[getattr(e, k) for k in header] for e in out.enterprises]
    name = f"energymon-district-{chosen}"
    if format == "csv":
        return _file(_csv(header, rows), CSV, f"{name}.csv")
    town_header = list(DistrictTownOut.model_fields)
    dc_header = list(ReportDataCentreOut.model_fields)
    return _file(
        _xlsx(
            [
                ("Enterprises", header, rows),
                ("Towns", town_header, [[getattr(t, k) for k in town_header] for t in out.towns]),
                (
                    "Data centres",
                    dc_header,
                    [[getattr(d, k) for k in dc_header] for d in out.data_centres],
                ),
                ("Sources", ["factor source"], [[s] for s in out.sources]),
            ]
        ),
        XLSX,
        f"{name}.xlsx",
    )
