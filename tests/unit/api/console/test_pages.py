"""The console's pure parts: where a login may return to, how figures read, chart options."""

from __future__ import annotations

import pytest

from services.api.console import charts
from services.api.console.pages.auth import safe_next
from services.api.console.views import number, percent


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/alerts?severity=critical", "/console/alerts?severity=critical"),
        (None, "/console/"),
        ("", "/console/"),
        ("/api/v1/me", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console//evil.example", "/console/"),
        ("/console/\\evil.example", "/console/"),
        ("https://evil.example/console/", "/console/"),
    ],
)
def test_a_login_returns_only_to_a_console_page_of_this_site(
    target: str | None, expected: str
) -> None:
    assert safe_next(target) == expected


def test_figures_read_with_grouped_thousands_and_blank_when_unknown() -> None:
    assert number(1234567.891) == "1,234,567.89"
    assert number(1.3, 3) == "1.300"
    assert number(None) == ""
    assert percent(0.9) == "90.0 %"
    assert percent(None) == ""


def test_the_pue_chart_marks_over_limit_bars_and_draws_each_limit_once() -> None:
    option = charts.pue_ranking(
        ["a/dc-1", "b/dc-2", "c/dc-3"],
        [1.31, 1.2, 1.45],
        [True, False, False],
        [1.25, 1.25, 1.5],
        "limit",
    )
    bars = option["series"][0]["data"]
    assert [b["itemStyle"]["color"] for b in bars] == [charts.OVER, charts.WITHIN, charts.WITHIN]
    assert [m["yAxis"] for m in option["series"][0]["markLine"]["data"]] == [1.25, 1.5]
