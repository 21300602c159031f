"""Production submissions as files: CSV, XLSX, JSON or YAML, read into numbered rows of fields.

The row numbers are what a person finds the row by: the file line of a CSV (the header is line
1), the sheet row of an XLSX (its first sheet; the header is row 1), the item of a JSON or YAML
list (the first is 1). Blank lines and rows are skipped, keeping the numbers of the rest. A file
that cannot be read at all raises ProductionFileError; what is wrong inside a row is for
validation (services/core/domain/production.py), which lists every bad row.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import yaml
from openpyxl import load_workbook

from services.core.errors import EnergymonError

Rows = list[tuple[int, Mapping[str, Any]]]
FORMATS = ("csv", "xlsx", "json", "yaml")
_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_MEDIA = {
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/json": "json",
    "application/yaml": "yaml",
}


class ProductionFileError(EnergymonError):
    """A submission file of an unknown type, or one that cannot be read."""

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        self.unsupported = unsupported
        super().__init__(message)


def file_format(filename: str, media_type: str | None = None) -> str:
    """``csv``, ``xlsx``, ``json`` or ``yaml`` from the file's name, else its media type."""
    name = filename.lower()
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    media = (media_type or "").split(";")[0].strip().lower()
    if media in _MEDIA:
        return _MEDIA[media]
    raise ProductionFileError(
        f"{filename or 'the file'} is not a production file: send CSV (.csv), XLSX (.xlsx), "
        "JSON (.json) or YAML (.yaml)",
        unsupported=True,
    )


def read_rows(data: bytes, fmt: str, *, name: str = "the file") -> Rows:
    """The numbered rows of a file of format ``fmt`` (see ``file_format``)."""
    if fmt == "csv":
        return _csv_rows(data, name)
    if fmt == "xlsx":
        return _xlsx_rows(data, name)
    return list_rows(_document(data, fmt, name), name)


def list_rows(doc: Any, name: str = "the submission") -> Rows:
    """A JSON or YAML list of row objects, numbered from 1."""
    if not isinstance(doc, list):
        raise ProductionFileError(f"{name} must be a list of rows, not {type(doc).__name__}")
    return [(i, row) for i, row in enumerate(doc, start=1)]


def _document(data: bytes, fmt: str, name: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
        return json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ProductionFileError(f"{name} is not readable {fmt.upper()}: {first}") from err


def _csv_rows(data: bytes, name: str) -> Rows:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProductionFileError(f"{name} is not UTF-8 text: save the CSV as UTF-8") from err
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ProductionFileError(f"{name} is empty: the first line is the header")
        names = _header(header, name)
        rows: Rows = []
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((reader.line_num, _fields(names, values)))
    except csv.Error as err:
        raise ProductionFileError(f"{name} line {reader.line_num}: {err}") from err
    return rows


def _xlsx_rows(data: bytes, name: str) -> Rows:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise ProductionFileError(f"{name} is not a readable XLSX workbook") from err
    try:
        sheet = book.worksheets[0]
        cells = sheet.iter_rows(values_only=True)
        header = next(cells, None)
        if header is None:
            raise ProductionFileError(f"{name}: the first sheet is empty; row 1 is the header")
        names = _header(["" if h is None else str(h) for h in header], name)
        rows: Rows = []
        for number, values in enumerate(cells, start=2):
            if any(v is not None and str(v).strip() for v in values):
                rows.append((number, _fields(names, [_cell(v) for v in values])))
        return rows
    finally:
        book.close()


def _cell(value: Any) -> Any:
    # a date typed into a sheet loses whether a month or a day was meant: say so, don't guess
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m-%d} (a date cell: type the period as text, e.g. '2026-11)"
    return value


def _header(header: list[str], name: str) -> list[str]:
    names = [h.strip().lstrip("\ufeff") for h in header]
    if not any(names):
        raise ProductionFileError(f"{name}: the header row is empty")
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        raise ProductionFileError(f"{name}: the header repeats {', '.join(dup)}")
    return names


def _fields(names: list[str], values: Sequence[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for i, value in enumerate(values):
        if i >= len(names) or not names[i]:
            if value is not None and str(value).strip():
                fields[f"column {i + 1} (no header)"] = value
            continue
        fields[names[i]] = value
    return fields
