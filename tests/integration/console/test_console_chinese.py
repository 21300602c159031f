"""The Chinese console is Chinese: every screen, rendered in zh with a demo-like district (a data
centre over its PUE limit, another without data, budgets, an over-quota plant, an enterprise
without output, and the alerts the rules raise from them), holds no English sentence. Codes,
numbers, units, standards and names from the registry are not sentences."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape

import httpx
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from services.alerts.evaluator import AlertsMetrics, Evaluator
from services.alerts.main import default_families
from services.alerts.notify import Router
from services.core.db import make_engine
from services.core.settings import AlertsSettings, IntensitySettings
from tests.integration.api.conftest import ApiHarness
from tests.support.intensity import ENT_A, ENT_B, SHANGHAI, november_figures

Clients = Callable[[str | None], httpx.Client]
# a run of three or more English words (lower-case after the first letter, two letters or more)
# with no Chinese and no tag between them is a sentence; numbers, codes (M-100, dc-1), acronyms
# (PUE, IT, GB/T) and units neither count nor end a run
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’_./-]*|[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]|\|")
WORD = re.compile(r"[A-Za-z][a-z'’]+")
UNITS = frozenset({"kgce", "tce", "tco", "kg", "kWh", "MWh", "kW", "GJ", "MJ", "kJ", "m3"})
HIDDEN = re.compile(
    r"<(script|style|code|textarea|title)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE
)


@pytest.fixture
def api_config_extra() -> dict[str, object]:
    return {"intensity": IntensitySettings(target_decline=0.03)}


@pytest.fixture
def district(fed_recent: ApiHarness) -> ApiHarness:
    """fed_recent's last day and budgets, November's figures, and every alert rule run once."""
    november_figures(fed_recent.db)
    settings = AlertsSettings(hold_s=0)
    engine = make_engine(fed_recent.db)
    evaluator = Evaluator(
        engine,
        settings,
        default_families(settings, SHANGHAI),
        Router(settings.routes, []),
        AlertsMetrics(CollectorRegistry()),
    )
    evaluator.evaluate_all(datetime.now(UTC))
    engine.dispose()
    return fed_recent


def _names(api: ApiHarness) -> list[str]:
    """Names the registry holds (data, not the console's words), longest first."""
    with psycopg.connect(api.db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT name FROM enterprises UNION SELECT name FROM sites "
            "UNION SELECT name FROM products UNION SELECT name FROM gateways"
        ).fetchall()
    return sorted((str(r[0]) for r in rows if r[0]), key=len, reverse=True)


def english_sentences(html: str, names: list[str]) -> list[str]:
    # a tag ends a run: words in two cells are not a sentence
    text = unescape(HIDDEN.sub("|", html))
    for name in names:
        text = text.replace(name, "|")
    found: list[str] = []
    run: list[str] = []
    for token in [*TOKEN.findall(text), "|"]:
        if WORD.fullmatch(token) and token not in UNITS:
            run.append(token)
        elif not token[0].isascii() or token == "|":
            if len(run) >= 3:
                found.append(" ".join(run))
            run = []
    return found


def _pages(client: httpx.Client, api: ApiHarness) -> list[str]:
    alerts = client.get("/console/alerts").text
    ids = sorted(set(re.findall(r"data-alert=\"(\d+)\"", alerts)))
    return [
        "/console/",
        "/console/data-centres?window=rolling_24h",
        "/console/data-centres?window=mtd",
        "/console/data-centres?window=ytd",
        f"/console/enterprises/{ENT_A}/data-centres/dc-1",
        "/console/budgets",
        "/console/alerts",
        *(f"/console/alerts/{i}" for i in ids),
        "/console/enterprises",
        f"/console/enterprises/{ENT_A}?month=2026-11",
        f"/console/enterprises/{ENT_B}?month=2026-11",
        f"/console/enterprises/{ENT_A}/meters/DC-IN-1",
        "/console/intensity?month=2026-11",
        "/console/intensity?month=2026-11&by=quota_distance",
        "/console/intensity?month=2026-11&by=yoy",
        "/console/admin/users",
        "/console/admin/registry",
    ]


def test_no_screen_of_the_chinese_console_holds_an_english_sentence(
    browser_like: Clients, district: ApiHarness
) -> None:
    admin = browser_like("admin")
    names = _names(district)
    found: dict[str, list[str]] = {}
    for path in _pages(admin, district):
        page = admin.get(path)
        assert page.status_code == 200, (path, page.status_code)
        if sentences := english_sentences(page.text, names):
            found[path] = sentences
    assert found == {}


def test_the_verdicts_are_chinese_in_the_console_and_english_in_the_api(
    browser_like: Clients, district: ApiHarness
) -> None:
    officer = browser_like("officer")
    ranking = officer.get("/console/data-centres?window=rolling_24h").text
    assert "超过限值（1.300 &gt; 1.25）" in ranking
    intensity = officer.get("/console/intensity?month=2026-11&by=quota_distance").text
    assert "超限（429.496 &gt; 415 kgce/t，GB 21256-2025 4.3" in intensity
    assert "该产品无能耗限额标准" in intensity  # B's cold storage
    alerts = officer.get("/console/alerts").text
    assert "PUE 超过限值：" in alerts
    answer = district.client.get(
        "/api/v1/data-centres/pue-ranking",
        params={"window": "rolling_24h"},
        headers=district.as_("officer"),
    )
    texts = [r["verdict_text"] for r in answer.json()]
    assert "over the limit (1.300 > 1.25)" in texts
    english = officer.get("/console/lang/en", follow_redirects=True)
    assert english.status_code == 200
    assert (
        "over the limit (1.300 &gt; 1.25)"
        in officer.get("/console/data-centres?window=rolling_24h").text
    )


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ("<td>over the limit (1.300 &gt; 1.25)</td>", ["over the limit"]),
        ("<p>insufficient data (IT side 43% < 90%)</p>", ["insufficient data side"]),
        ("<td>超过限值（1.300 &gt; 1.25）</td><td>PUE</td><td>M-100 kWh</td>", []),
        ("<td>used</td><td>up</td><td>today</td>", []),  # three cells, not a sentence
        ("<p>GB 21256-2025 4.3, Table 3, grade 3 限定值</p>", []),
        ("<code>energymon registry load</code>", []),
    ],
)
def test_the_english_finder_finds_sentences_and_leaves_codes_and_units(
    html: str, found: list[str]
) -> None:
    assert english_sentences(html, []) == found
