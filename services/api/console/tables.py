"""The console's tables: one model that a page renders as its HTML table and that downloads as
an XLSX file with the same rows.

A page builds its tables from the figures it shows (headers already in the page's language) and
hands them to ``views.render``; the ``_macros.html`` ``data_table`` macro draws each with an XLSX
link to the same page with ``?xlsx=<table name>``. That request runs the same route (same
filters, same tenancy) and answers the table as a file instead of the page.

In the file, numbers stay numbers (with the page's decimal places as their format), shares are
per cent cells, and times are wall-clock times in the console's zone, which the header names
(XLSX has no offsets). Above the table: the title, the filters applied and when it was generated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.api.xlsx import new_workbook, sheet_title, workbook_bytes

TIME_FORMAT = "%Y-%m-%d %H:%M"
_XLSX_TIME = "yyyy-mm-dd hh:mm"
_XLSX_DATE = "yyyy-mm-dd"


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"  # ``places`` decimals; None: as stored (raw readings, factors)
    SHARE = "share"  # a fraction, shown in per cent
    DATE = "date"
    TIME = "time"  # an aware datetime, shown in the console's zone


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    unit: str = ""
    kind: Kind = Kind.TEXT
    places: int | None = 2

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.INTEGER, Kind.NUMBER, Kind.SHARE)

    def heading(self, zone: ZoneInfo) -> str:
        """The header with its unit, or for times the zone they are given in."""
        unit = "%" if self.kind is Kind.SHARE else self.unit
        if self.kind is Kind.TIME:
            unit = str(zone.key)
        return f"{self.header} ({unit})" if unit else self.header

    def show(self, value: Any, zone: ZoneInfo) -> str:
        """The value as the page prints it; blank when unknown."""
        if value is None:
            return ""
        if self.kind is Kind.NUMBER:
            # as stored: the 15 significant digits a spreadsheet shows of a double
            return f"{value:,.{self.places}f}" if self.places is not None else f"{value:.15g}"
        if self.kind is Kind.SHARE:
            return f"{value * 100:.{1 if self.places is None else self.places}f} %"
        if self.kind is Kind.TIME:
            return str(value.astimezone(zone).strftime(TIME_FORMAT))
        if self.kind is Kind.DATE:
            return str(value.isoformat())
        return str(value)

    def cell(self, value: Any, zone: ZoneInfo) -> Any:
        """The value as an XLSX cell holds it."""
        if self.kind is Kind.TIME and isinstance(value, datetime):
            return value.astimezone(zone).replace(tzinfo=None)
        return value

    @property
    def number_format(self) -> str | None:
        places = 1 if self.kind is Kind.SHARE and self.places is None else self.places
        decimals = "." + "0" * places if places else ""
        if self.kind is Kind.NUMBER and places is not None:
            return f"#,##0{decimals}"
        if self.kind is Kind.SHARE:
            return f"0{decimals}%"
        return {Kind.INTEGER: "0", Kind.TIME: _XLSX_TIME, Kind.DATE: _XLSX_DATE}.get(self.kind)


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[Any, ...]
    links: Mapping[int, str] = field(default_factory=dict)  # column index -> href
    attrs: Mapping[str, str] = field(default_factory=dict)  # the <tr>'s (class, data-*)
    cell_attrs: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # the HTML id, the ``xlsx`` query value and the ASCII file name
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    filters: tuple[tuple[str, str], ...] = ()
    # the GET page showing the table, when it is rendered in another answer (a POST's)
    page: str | None = None
    htmx_target: str | None = None  # links load into this element instead of navigating


def table(
    name: str,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Row | Sequence[Any]],
    *,
    filters: Sequence[tuple[str, str]] = (),
    page: str | None = None,
    htmx_target: str | None = None,
) -> Table:
    """A ``Table``; plain sequences become rows without links or attributes."""
    built = tuple(r if isinstance(r, Row) else Row(tuple(r)) for r in rows)
    for r in built:
        if len(r.cells) != len(columns):
            raise ValueError(f"table {name}: a row of {len(r.cells)} cells, {len(columns)} columns")
    return Table(name, title, tuple(columns), built, tuple(filters), page, htmx_target)


def workbook(
    t: Table, *, zone: ZoneInfo, generated_at: datetime, gettext: Callable[[str], str]
) -> bytes:
    """The table as one sheet: title, filters and generation time, a blank row, then the header
    (frozen, with an autofilter) and the rows."""
    _ = gettext
    book = new_workbook()
    sheet = book.create_sheet(sheet_title(t.title))
    book.properties.title = t.title
    sheet.append([t.title])
    sheet["A1"].font = Font(bold=True, size=13)
    for label, value in t.filters:
        sheet.append([label, value])
    local = generated_at.astimezone(zone).strftime(TIME_FORMAT)
    sheet.append([_("Generated at"), f"{local} ({zone.key})"])
    sheet.append([])
    sheet.append([c.heading(zone) for c in t.columns])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for r in t.rows:
        sheet.append([c.cell(v, zone) for c, v in zip(t.columns, r.cells, strict=True)])
    for i, column in enumerate(t.columns, start=1):
        letter = get_column_letter(i)
        fmt = column.number_format
        if fmt is not None:
            for (cell,) in sheet.iter_rows(min_row=header_row + 1, min_col=i, max_col=i):
                cell.number_format = fmt
        shown = (len(column.show(r.cells[i - 1], zone)) for r in t.rows)
        width = max([len(column.heading(zone)), *shown])
        sheet.column_dimensions[letter].width = min(60, width + 2)
    sheet.freeze_panes = f"A{header_row + 1}"
    last = get_column_letter(len(t.columns))
    sheet.auto_filter.ref = f"A{header_row}:{last}{max(header_row, sheet.max_row)}"
    return workbook_bytes(book)


def file_stem(t: Table, generated_at: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(ASCII, UTF-8) file names without extension: the table's name or title and the local
    time it was generated."""
    stamp = generated_at.astimezone(zone).strftime("%Y%m%d-%H%M")
    title = t.title.replace("/", "-").replace("\\", "-")
    return f"energymon-{t.name}-{stamp}", f"{title}-{stamp}"


def as_date(day: str | date) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)
