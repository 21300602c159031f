"""Monthly reports as files: the same figures as the JSON answer, laid out as tables.

An enterprise's report is four tables (Summary, Energy, Budgets, Data centres): one CSV of
sections (`section,c1,c2,...`) or one XLSX sheet per table. The district summary's CSV is its
enterprises' table; its XLSX adds the towns, the data centres and the factor sources.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Response

from services.api.models.reports import (
    DistrictEnterpriseOut,
    DistrictReportOut,
    DistrictTownOut,
    EnterpriseReportOut,
    ReportBudgetOut,
    ReportDataCentreOut,
    ReportIntensityOut,
)
from services.api.render import file_response
from services.api.xlsx import XLSX, new_workbook, sheet_title, workbook_bytes

CSV = "text/csv; charset=utf-8"
# the OpenAPI description of a route answering JSON, CSV or XLSX
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON by default; `format=csv` or `format=xlsx` for a file",
    }
}


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]


# [(column header, field)] of an enterprise report's tables after its summary
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


def _table(title: str, columns: list[tuple[str, str]], items: Sequence[Any]) -> Table:
    return Table(
        title, [h for h, _ in columns], [[getattr(i, f) for _, f in columns] for i in items]
    )


def _fields_table(title: str, fields: list[str], items: Sequence[Any]) -> Table:
    return _table(title, [(f, f) for f in fields], items)


def enterprise_tables(report: EnterpriseReportOut) -> list[Table]:
    summary = [[k, getattr(report, k)] for k in (*_SUMMARY, "completeness")]
    return [
        Table("Summary", ["item", "value"], summary),
        _table("Energy", _CARRIER_COLUMNS, report.carriers),
        _table("Budgets", _BUDGET_COLUMNS, report.budgets),
        _table("Data centres", _DC_COLUMNS, report.data_centres),
        _fields_table("Intensity", list(ReportIntensityOut.model_fields), report.intensity),
    ]


def district_enterprises(report: DistrictReportOut) -> Table:
    return _fields_table(
        "Enterprises", list(DistrictEnterpriseOut.model_fields), report.enterprises
    )


def district_tables(report: DistrictReportOut) -> list[Table]:
    return [
        district_enterprises(report),
        _fields_table("Towns", list(DistrictTownOut.model_fields), report.towns),
        _fields_table("Data centres", list(ReportDataCentreOut.model_fields), report.data_centres),
        Table("Sources", ["factor source"], [[s] for s in report.sources]),
    ]


def table_csv(table: Table) -> str:
    return _csv(table.header, table.rows)


def sections_csv(tables: Sequence[Table]) -> str:
    """Every table in one CSV: each row led by its table's title, columns ``c1``, ``c2``..."""
    rows = [[t.title, *row] for t in tables for row in t.rows]
    width = max(len(r) for r in rows)
    return _csv(["section", *(f"c{i}" for i in range(1, width))], rows)


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def workbook(tables: Sequence[Table]) -> bytes:
    """One sheet per table, its header frozen; times as local wall-clock times (XLSX has no
    offsets)."""
    book = new_workbook()
    for table in tables:
        sheet = book.create_sheet(sheet_title(table.title))
        sheet.append(list(table.header))
        for row in table.rows:
            sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
        sheet.freeze_panes = "A2"
    return workbook_bytes(book)


def sections_file(tables: Sequence[Table], *, format: str, name: str) -> Response:
    """``tables`` as ``name``.xlsx (a sheet each) or ``name``.csv (one table of sections)."""
    if format == "xlsx":
        return file_response(workbook(tables), media_type=XLSX, filename=f"{name}.xlsx")
    return file_response(sections_csv(tables), media_type=CSV, filename=f"{name}.csv")
