"""Read a console table twice — from the page's HTML and from its XLSX file — as text a reader
sees, so a test can compare the two (the XLSX cells printed with their own number formats)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell import Cell


@dataclass
class HtmlTable:
    id: str
    label: str
    header: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class TablePage:
    """A page's ``table.data`` elements by id and its XLSX links by table name."""

    tables: dict[str, HtmlTable] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    unnamed_tables: int = 0


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = TablePage()
        self.table: HtmlTable | None = None
        self.cell: list[str] | None = None
        self.cell_is_action = False
        self.cell_numeric = False
        self.row: list[str] | None = None
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "a" and "data-export" in a:
            self.page.exports[a["data-export"]] = a["href"]
        elif tag == "table" and "data" in classes:
            if not a.get("id"):
                self.page.unnamed_tables += 1
            self.table = HtmlTable(a.get("id", ""), a.get("aria-label", ""))
        elif self.table is None:
            return
        elif tag == "thead":
            self.in_head = True
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
            self.cell_is_action = "actions" in classes
            self.cell_numeric = "n" in classes

    def handle_endtag(self, tag: str) -> None:
        t = self.table
        if t is None:
            return
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            if not self.cell_is_action:
                self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
                if self.in_head:
                    t.numeric.append(self.cell_numeric)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.in_head:
                t.header = self.row
            else:
                t.rows.append(self.row)
            self.row = None
        elif tag == "thead":
            self.in_head = False
        elif tag == "table":
            self.page.tables[t.id] = t
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def read_page(html: str) -> TablePage:
    reader = _Reader()
    reader.feed(html)
    return reader.page


@dataclass
class XlsxTable:
    sheet: str
    title: str
    about: dict[str, str]  # the lines between the title and the table: filters, generated at
    header: list[str]
    cells: list[list[Any]]  # as stored
    rows: list[list[str]]  # as printed with each cell's number format


def read_xlsx(body: bytes) -> XlsxTable:
    book = load_workbook(io.BytesIO(body))
    sheet = book.worksheets[0]
    lines = list(sheet.iter_rows())
    title = str(lines[0][0].value)
    blank = next(i for i, r in enumerate(lines) if all(c.value is None for c in r))
    about = {str(r[0].value): str(r[1].value) for r in lines[1:blank]}
    width = sum(1 for c in lines[blank + 1] if c.value is not None)
    header = [str(c.value) for c in lines[blank + 1][:width]]
    body_rows = [r[:width] for r in lines[blank + 2 :]]
    return XlsxTable(
        sheet=sheet.title,
        title=title,
        about=about,
        header=header,
        cells=[[c.value for c in r] for r in body_rows],
        rows=[[printed(c) for c in r] for r in body_rows],
    )


def printed(cell: Cell) -> str:
    """The cell as the console prints it: its number format's decimals, shares in per cent,
    times to the minute."""
    value, fmt = cell.value, str(cell.number_format)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if fmt == "yyyy-mm-dd" else "%Y-%m-%d %H:%M")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    places = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
    if fmt.endswith("%"):
        text = f"{value * 100:.{places}f} %"
    elif fmt.startswith("#,##0"):
        text = f"{value:,.{places}f}"
    elif fmt == "0":
        text = str(int(value))
    else:
        text = f"{value:.15g}"  # General: a spreadsheet's 15 significant digits
    return text
