"""Quota standards read from a data file (YAML or CSV) into the domain's :class:`QuotaSet`.

The shipped file (``services/core/data/quotas.yaml``) holds the entries that could be cited to a
standard's table; ``ENERGYMON_QUOTAS_FILE`` replaces it. A YAML file has a top-level ``version:``
and ``entries:`` (a list of mappings); a CSV file has a header row of the same field names, one
entry per row, and its file name as version. Every problem is reported with its line of the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.core.domain.quota import QuotaEntry, QuotaSet, entry_problems
from services.core.errors import QuotaFileError
from services.core.yaml_errors import yaml_line, yaml_problem

DEFAULT_FILE = Path(__file__).with_name("data") / "quotas.yaml"

_TEXT = (
    "standard",
    "product",
    "product_zh",
    "product_en",
    "indicator_zh",
    "indicator_en",
    "boundary",
    "unit",
)
_OPTIONAL_TEXT = (
    "limit_source",
    "entry_source",
    "advanced_source",
    "transcribed_from",
    "note",
)
_VALUES = ("limit_value", "entry_value", "advanced_value")
FIELDS = (*_TEXT, *_VALUES, *_OPTIONAL_TEXT, "valid_from", "valid_to", "verified")


@dataclass(frozen=True)
class _Record:
    line: int | None
    where: str  # e.g. "entries[3]" (YAML) or "row 3" (CSV)
    fields: dict[str, Any]
    lines: dict[str, int]  # the line of each field, where the format says


class _BadFieldError(ValueError):
    """A field that cannot be read: the message names the field."""


def read_quotas(path: Path) -> tuple[QuotaSet | None, list[str]]:
    """The quota set of the file at ``path`` and the problems found (the set is None when there
    is any); ``.csv`` files are read as CSV, anything else as YAML."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix.lower() == ".csv":
            version, records = path.name, _csv_records(text)
        else:
            version, records = _yaml_records(text)
    except _BadFieldError as err:
        return None, [str(err)]
    entries: list[QuotaEntry] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, date], int | None] = {}
    for record in records:
        entry, found = _entry(record)
        problems += found
        if entry is None:
            continue
        key = (entry.standard, entry.product, entry.valid_from)
        if key in seen:
            first = f"line {seen[key]}" if seen[key] is not None else "an earlier entry"
            problems.append(
                _at(record, None, f"duplicate of {first} (same standard, product and valid_from)")
            )
        seen.setdefault(key, record.line)
        entries.append(entry)
    return (None if problems else QuotaSet.of(version, entries)), problems


def load_quotas(path: Path) -> QuotaSet:
    """The quota set of the file at ``path``; raises QuotaFileError listing every problem."""
    quotas, problems = read_quotas(path)
    if quotas is None:
        raise QuotaFileError(str(path), problems)
    return quotas


@cache
def default_quotas() -> QuotaSet:
    """The shipped quotas, read once per process."""
    return load_quotas(DEFAULT_FILE)


def configured_quotas(file: Path | None) -> QuotaSet:
    """The quotas of ``file`` (``ENERGYMON_QUOTAS_FILE``), or the shipped ones when None."""
    return default_quotas() if file is None else load_quotas(file)


def _yaml_records(text: str) -> tuple[str, list[_Record]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        line = yaml_line(err)
        raise _BadFieldError(
            f"{f'line {line}: ' if line else ''}not valid YAML: {yaml_problem(err)}"
        ) from err
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise _BadFieldError("a quota file holds a mapping with 'version:' and a list 'entries:'")
    version = data.get("version")
    if not isinstance(version, str | int | float) or not str(version).strip():
        raise _BadFieldError("the file has no 'version:' (e.g. version: \"2026-12-02\")")
    nodes = _entry_nodes(root)
    records = []
    for i, raw in enumerate(data["entries"]):
        node = nodes[i] if i < len(nodes) else None
        lines = {}
        if isinstance(node, yaml.MappingNode):
            lines = {k.value: v.start_mark.line + 1 for k, v in node.value}
        line = node.start_mark.line + 1 if node is not None else None
        if not isinstance(raw, dict):
            raise _BadFieldError(f"{f'line {line}: ' if line else ''}entries[{i}] is not a mapping")
        records.append(_Record(line, f"entries[{i}]", raw, lines))
    return str(version), records


def _entry_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "entries" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _csv_records(text: str) -> list[_Record]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise _BadFieldError("line 1: the CSV file is empty; its first row names the fields")
    unknown = [name for name in reader.fieldnames if name not in FIELDS]
    if unknown:
        raise _BadFieldError(
            f"line 1: unknown column(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
        )
    records = []
    for n, row in enumerate(reader, start=1):
        fields = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if None in row:
            fields["_extra"] = row[None]
        records.append(_Record(reader.line_num, f"row {n}", fields, {}))
    return records


def _at(record: _Record, field: str | None, message: str) -> str:
    line = record.lines.get(field, record.line) if field else record.line
    label = " ".join(str(record.fields.get(k, "")) for k in ("standard", "product")).strip()
    where = f"{record.where} ({label})" if label else record.where
    return f"{f'line {line}: ' if line else ''}{where}: {message}"


def _entry(record: _Record) -> tuple[QuotaEntry | None, list[str]]:
    problems = []
    fields = record.fields
    if "_extra" in fields:
        problems.append(_at(record, None, "more cells than the header has columns"))
    for name in fields:
        if name not in FIELDS and name != "_extra":
            problems.append(_at(record, name, f"unknown field {name!r}"))
    values: dict[str, Any] = dict.fromkeys(_VALUES)
    readers = (
        [(name, _text, True) for name in _TEXT]
        + [(name, _text, False) for name in _OPTIONAL_TEXT]
        + [(name, _number, False) for name in _VALUES]
        + [("valid_from", _date, True), ("valid_to", _date, False), ("verified", _bool, False)]
    )
    for name, read, required in readers:
        raw = fields.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                problems.append(_at(record, None, f"{name} is missing"))
            continue
        try:
            values[name] = read(raw)
        except _BadFieldError as err:
            problems.append(_at(record, name, f"{name}: {err}"))
    if problems:
        return None, problems
    entry = QuotaEntry(**values)
    return entry, [_at(record, None, p) for p in entry_problems(entry)]


def _text(raw: Any) -> str:
    if isinstance(raw, bool | dict | list):
        raise _BadFieldError(f"expected text, got {raw!r}")
    return " ".join(str(raw).split())


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise _BadFieldError(f"expected a number, got {raw!r}")
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise _BadFieldError(f"expected a number, got {raw!r}") from None


def _date(raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise _BadFieldError(f"expected a date YYYY-MM-DD, got {raw!r}") from None


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in {"true", "yes", "1"}:
        return True
    if word in {"false", "no", "0"}:
        return False
    raise _BadFieldError(f"expected true or false, got {raw!r}")
