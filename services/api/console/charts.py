"""ECharts options built from the figures a page shows (data only: static/console.js draws
them). Each chart's numbers are also in a table on the same page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

OVER = "#c0392b"
WITHIN = "#2e7d5b"
NEUTRAL = "#4a6fa5"


def line(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], unit: str
) -> dict[str, Any]:
    """One line per named series over the categories (days, hours)."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 56, "right": 16, "top": 32, "bottom": 28},
        "xAxis": {"type": "category", "data": list(categories)},
        "yAxis": {"type": "value", "name": unit},
        "series": [
            {"name": name, "type": "line", "data": list(values), "connectNulls": False}
            for name, values in series
        ],
    }


def bars(
    categories: Sequence[str], values: Sequence[float | None], unit: str, name: str
) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 16, "top": 24, "bottom": 28},
        "xAxis": {"type": "category", "data": list(categories)},
        "yAxis": {"type": "value", "name": unit},
        "series": [{"name": name, "type": "bar", "data": list(values), "color": NEUTRAL}],
    }


def pue_ranking(
    labels: Sequence[str],
    ratios: Sequence[float],
    over: Sequence[bool],
    limits: Sequence[float],
    limit_label: str,
) -> dict[str, Any]:
    """Each data centre's PUE as a bar (over its limit in red) with every class limit in use
    drawn as a horizontal line."""
    data = [
        {"value": r, "itemStyle": {"color": OVER if o else WITHIN}}
        for r, o in zip(ratios, over, strict=True)
    ]
    marks = [
        {"yAxis": limit, "name": f"{limit_label} {limit}", "label": {"formatter": f"{limit}"}}
        for limit in sorted(set(limits))
    ]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 48, "top": 24, "bottom": 72},
        "xAxis": {"type": "category", "data": list(labels), "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "name": "PUE", "min": 1},
        "series": [
            {
                "name": "PUE",
                "type": "bar",
                "data": data,
                "markLine": {
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": OVER},
                    "data": marks,
                },
            }
        ],
    }


def budget_projection(
    labels: Sequence[str],
    used: Sequence[float],
    projected: Sequence[float | None],
    thresholds: Sequence[float],
    names: tuple[str, str],
) -> dict[str, Any]:
    """Per budget, the share used so far and the projected share at the period's end, in per
    cent, with the warning thresholds and 100 % drawn; ``names``: the two series' names."""
    marks = [{"xAxis": round(t * 100, 1)} for t in sorted({*thresholds, 1.0})]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 210, "right": 32, "top": 32, "bottom": 24},
        "yAxis": _rows_axis(labels),
        "xAxis": {"type": "value", "name": "%"},
        "series": [
            {
                "name": names[0],
                "type": "bar",
                "data": [round(u * 100, 1) for u in used],
                "color": NEUTRAL,
                "markLine": {
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": OVER},
                    "data": marks,
                },
            },
            {
                "name": names[1],
                "type": "bar",
                "data": [None if p is None else round(p * 100, 1) for p in projected],
                "color": "#9db4d3",
            },
        ],
    }


def ranking(
    labels: Sequence[str], values: Sequence[float | None], over: Sequence[bool], unit: str
) -> dict[str, Any]:
    """A ranking as horizontal bars, highest at the top, rows over their limit in red."""
    data = [
        {"value": v, "itemStyle": {"color": OVER if o else NEUTRAL}}
        for v, o in zip(values, over, strict=True)
    ]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 210, "right": 32, "top": 24, "bottom": 48},
        "yAxis": _rows_axis(labels),
        "xAxis": {"type": "value", "name": unit, "nameLocation": "middle", "nameGap": 28},
        "series": [{"name": unit, "type": "bar", "data": data}],
    }


def _rows_axis(labels: Sequence[str]) -> dict[str, Any]:
    """A vertical category axis of named rows, the first at the top."""
    return {
        "type": "category",
        "data": list(labels),
        "inverse": True,
        "axisLabel": {"width": 200, "overflow": "truncate"},
    }
