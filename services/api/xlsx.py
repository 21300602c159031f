"""What every XLSX file the API and the console write shares: the content type, a workbook
without openpyxl's default sheet, sheet titles Excel accepts, and the file's bytes."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel refuses these characters in a sheet's title and titles longer than 31 characters
_NOT_IN_TITLE = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_MAX = 31


def new_workbook() -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    return book


def sheet_title(title: str) -> str:
    return _NOT_IN_TITLE.sub(" ", title).strip()[:SHEET_TITLE_MAX] or "Sheet"


def workbook_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
