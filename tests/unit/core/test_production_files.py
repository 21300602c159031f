"""Submission files read into numbered rows: the numbers are what a person finds the row by."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from services.core.production_files import ProductionFileError, file_format, read_rows


def _xlsx(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_csv_rows_are_numbered_by_file_line_skipping_blank_lines() -> None:
    data = "\ufeffperiod,product,output,unit\n2026-11,steel,1250.5,t\n\n,,,\n2026-10,steel,990,t\n"
    rows = read_rows(data.encode(), "csv")
    assert rows == [
        (2, {"period": "2026-11", "product": "steel", "output": "1250.5", "unit": "t"}),
        (5, {"period": "2026-10", "product": "steel", "output": "990", "unit": "t"}),
    ]


def test_a_csv_value_beyond_the_header_is_kept_for_validation_to_refuse() -> None:
    rows = read_rows(b"period,product\n2026-11,steel,surplus\n", "csv")
    assert rows == [
        (2, {"period": "2026-11", "product": "steel", "column 3 (no header)": "surplus"})
    ]


def test_xlsx_rows_are_numbered_by_sheet_row_and_date_cells_say_what_to_type() -> None:
    data = _xlsx(
        ["period", "product", "output", "unit"],
        ["2026-11", "steel", 1250.5, "t"],
        [None, None, None, None],
        [datetime(2026, 10, 1), "steel", 990, "t"],
    )
    rows = read_rows(data, "xlsx")
    assert rows[0] == (2, {"period": "2026-11", "product": "steel", "output": 1250.5, "unit": "t"})
    number, fields = rows[1]
    assert number == 4
    assert fields["period"].startswith("2026-10-01 (a date cell: type the period as text")


@pytest.mark.parametrize(
    ("name", "media", "fmt"),
    [
        ("Production.CSV", None, "csv"),
        ("p.xlsx", None, "xlsx"),
        ("p.yml", None, "yaml"),
        ("upload", "application/json; charset=utf-8", "json"),
    ],
)
def test_the_format_comes_from_the_name_else_the_media_type(
    name: str, media: str | None, fmt: str
) -> None:
    assert file_format(name, media) == fmt


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", "csv", "p is empty: the first line is the header"),
        (b"\xff\xfe", "csv", "p is not UTF-8 text: save the CSV as UTF-8"),
        (b"period,period\n2026-11,2026-10\n", "csv", "p: the header repeats period"),
        (b"PK\x03\x04 not really", "xlsx", "p is not a readable XLSX workbook"),
        (b'{"period": "2026-11"}', "json", "p must be a list of rows, not dict"),
        (b"[{", "json", "p is not readable JSON: "),
        (b"- [unclosed", "yaml", "p is not readable YAML: "),
    ],
)
def test_an_unreadable_file_is_one_clear_error(data: bytes, fmt: str, message: str) -> None:
    with pytest.raises(ProductionFileError) as info:
        read_rows(data, fmt, name="p")
    assert str(info.value).startswith(message)


def test_a_file_of_another_type_is_named_unsupported() -> None:
    with pytest.raises(ProductionFileError) as info:
        file_format("report.pdf", "application/pdf")
    assert info.value.unsupported
