"""What the shipped deploy/ files ask of the platform: metric names, PromQL and SQL queries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"

_METRIC = re.compile(r"\benergymon_[a-z0-9_]+")
_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def _walk(node: Any, key: str) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _walk(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, key)


def dashboards() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def dashboard_sql() -> list[tuple[str, str]]:
    """(dashboard file, rawSql) of every SQL panel target and variable query."""
    out = []
    for name, board in dashboards().items():
        out.extend((name, sql) for sql in _walk(board, "rawSql"))
    return out


def promql_expressions() -> list[str]:
    """Every PromQL expression in the rules and the dashboards."""
    exprs = []
    for rules in sorted((PROMETHEUS / "rules").glob("*.yml")):
        exprs.extend(_walk(yaml.safe_load(rules.read_text()), "expr"))
    for board in dashboards().values():
        exprs.extend(_walk(board, "expr"))
    return exprs


def metric_names_used() -> set[str]:
    return {m for expr in promql_expressions() for m in _METRIC.findall(expr)}


def exposed_families(exposition: str) -> set[str]:
    """Metric family names in a /metrics text (from TYPE lines and samples)."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def is_exposed(name: str, families: set[str]) -> bool:
    if name in families:
        return True
    return any(name.endswith(s) and name.removesuffix(s) in families for s in _SUFFIXES)
