"""What applying a registry file changes, row by row and field by field: the difference between
two snapshots of the registry's rows (before and after applying, in one transaction)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

Action = Literal["added", "removed", "changed"]
# (table, natural key) -> the row's fields, "active" among them
RowKey = tuple[str, tuple[str, ...]]
Snapshot = Mapping[RowKey, Mapping[str, Any]]
_ORDER = {"added": 0, "changed": 1, "removed": 2}
# the registry's tables from the enterprise down, then what hangs off it
_TABLES = ("enterprises", "gateways", "sites", "meters", "points", "budgets", "products")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a row, as text: ``old`` is None for an added row, ``new`` for a cleared
    field."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class RowChange:
    table: str
    key: tuple[str, ...]  # the row's natural key: enterprise code, then its own codes
    action: Action
    fields: tuple[FieldChange, ...] = ()

    @property
    def label(self) -> str:
        return "/".join(part for part in self.key if part)


def shown(value: Any) -> str | None:
    """A stored value as an admin reads it (None stays None: no value)."""
    text: str | None
    if value is None or isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, Decimal):  # a numeric column: 40, not 40.000000
        text = format(value.normalize(), "f")
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = str(value)
    return text


def diff_snapshots(before: Snapshot, after: Snapshot) -> list[RowChange]:
    """Rows added (new, or inactive before), removed (deactivated: nothing is deleted) and
    changed (each field old -> new), by table, action and key. Inactive rows on both sides and
    unchanged rows are left out."""
    changes: list[RowChange] = []
    for row in before.keys() | after.keys():
        was, now = before.get(row, {}), after.get(row, {})
        was_on, now_on = bool(was.get("active")), bool(now.get("active"))
        table, key = row
        if now_on and not was_on:
            fields = tuple(
                FieldChange(f, None, shown(v))
                for f, v in now.items()
                if f != "active" and v is not None
            )
            changes.append(RowChange(table, key, "added", fields))
        elif was_on and not now_on:
            changes.append(RowChange(table, key, "removed"))
        elif was_on and now_on:
            fields = tuple(
                FieldChange(f, shown(was.get(f)), shown(now.get(f)))
                for f in now
                if f != "active" and was.get(f) != now.get(f)
            )
            if fields:
                changes.append(RowChange(table, key, "changed", fields))
    rank = {t: i for i, t in enumerate(_TABLES)}
    changes.sort(key=lambda c: (rank.get(c.table, len(rank)), c.table, _ORDER[c.action], c.key))
    return changes


_MARK = {"added": "+", "removed": "-", "changed": "~"}


def plan_line(change: RowChange) -> str:
    """One change as a line of text: ``~ meters 9112.../m-01: multiplier 1 -> 2``."""
    head = f"{_MARK[change.action]} {change.table} {change.label}"
    if change.action != "changed":
        return head
    fields = ", ".join(f"{f.field} {f.old or '-'} -> {f.new or '-'}" for f in change.fields)
    return f"{head}: {fields}"
