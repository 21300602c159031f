"""Answers with figures say when the rollups behind them are late by more than
ENERGYMON_ACCOUNTING_LAG_THRESHOLD_S (``X-Energymon-Rollups-Behind-S``, and a ``freshness``
member in JSON objects), and only then; the documents are otherwise the bytes they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.freshness import FIELD, FIGURE_ROUTES, HEADER
from services.core.db import make_engine
from services.core.settings import AccountingSettings, CommonSettings, IngestSettings
from tests.integration.api.conftest import DAY, ApiHarness
from tests.integration.conftest import ENT_A
from tests.support.api import serve
from tests.support.services import wait_for

THRESHOLD_S = 60.0
CACHE_S = 2.0 + 3.0  # the API reads the lag at most every 2 s; slack for a busy machine
WINDOW = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
FIGURES = [  # (path, query, whether the answer is a JSON object)
    (f"/api/v1/enterprises/{ENT_A}/consumption", {**WINDOW, "interval": "1d"}, False),
    ("/api/v1/district/consumption", {**WINDOW, "interval": "1h"}, False),
    (f"/api/v1/enterprises/{ENT_A}/energy", WINDOW, True),
    (f"/api/v1/enterprises/{ENT_A}/sites/dc-1/pue", {**WINDOW, "window": "custom"}, True),
    (f"/api/v1/enterprises/{ENT_A}/peak-demand", WINDOW, True),
    (f"/api/v1/reports/enterprises/{ENT_A}/monthly", {"month": "2026-11"}, True),
]
WITHOUT_FIGURES = [f"/api/v1/enterprises/{ENT_A}", "/api/v1/alerts", "/api/v1/me"]
# every documented GET route is one or the other: a new one must be classified in FIGURE_ROUTES
# or here
NOT_FIGURE_ROUTES = {
    "/api/v1/me",
    "/api/v1/enterprises",
    "/api/v1/enterprises/{code}",
    "/api/v1/enterprises/{code}/sites",
    "/api/v1/enterprises/{code}/gateways",
    "/api/v1/enterprises/{code}/sparkplug-nodes",
    "/api/v1/enterprises/{code}/meters",
    "/api/v1/enterprises/{code}/meters/{meter}/points/{point}/readings",
    "/api/v1/demand-response/events",
    "/api/v1/alerts",
    "/api/v1/alerts/{alert_id}",
    "/api/v1/enterprises/{code}/production",
    "/api/v1/enterprises/{code}/production/history",
    "/api/v1/district/production/missing",
}


@pytest.fixture
def strict(fed: ApiHarness) -> Iterator[httpx.Client]:
    """The API of ``fed``'s district with a lag threshold of a minute."""
    config = ApiConfig(
        CommonSettings(),
        fed.db,
        fed.settings,
        IngestSettings(),
        accounting=AccountingSettings(lag_threshold_s=THRESHOLD_S),
    )
    with serve(create_app(config)) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.headers.update(fed.as_("officer"))
        yield client


def _get(client: httpx.Client, path: str, query: dict[str, str]) -> httpx.Response:
    resp = client.get(path, params=query)
    assert resp.status_code == 200, f"{path}: {resp.text}"
    return resp


def _mark_pending(fed: ApiHarness, age_s: float) -> None:
    """A range of M-100's readings waiting for the rollups since ``age_s`` seconds ago."""
    with psycopg.connect(fed.db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO rollup_dirty (point_id, from_ts, to_ts, marked_at) "
            "SELECT p.id, %s, %s, now() - make_interval(secs => %s) FROM points p "
            "JOIN meters m ON m.id = p.meter_id WHERE m.code = 'M-100'",
            (DAY, DAY + timedelta(hours=1), age_s),
        )


def _catch_up(fed: ApiHarness) -> None:
    engine = make_engine(fed.db)
    catch_up(engine)
    engine.dispose()


def test_figures_say_how_far_behind_their_rollups_are_and_keep_every_byte(
    fed: ApiHarness, strict: httpx.Client
) -> None:
    current = {path: _get(strict, path, query) for path, query, _ in FIGURES}
    assert [path for path, resp in current.items() if HEADER in resp.headers] == []
    _mark_pending(fed, age_s=600)
    probe = FIGURES[0][:2]
    wait_for(lambda: HEADER in _get(strict, *probe).headers, CACHE_S, "the header")
    for path, query, is_object in FIGURES:
        resp, before = _get(strict, path, query), current[path]
        assert 600 <= int(resp.headers[HEADER]) < 600 + 60, path
        if is_object:
            # the same document with one member more, added last: every earlier byte kept
            assert resp.content.startswith(before.content.rstrip()[:-1]), path
            document = resp.json()
            freshness = document.pop(FIELD)
            assert document == before.json(), path
            assert freshness["rollups_behind_s"] == int(resp.headers[HEADER])
            assert freshness["lag_threshold_s"] == THRESHOLD_S
        else:
            assert resp.content == before.content, path
    for path in WITHOUT_FIGURES:
        resp = strict.get(path)
        assert resp.status_code == 200, resp.text
        assert HEADER not in resp.headers, path
        assert FIELD not in resp.text, path
    # once the accounting caught up, the answers are the bytes they were
    _catch_up(fed)
    wait_for(lambda: HEADER not in _get(strict, *probe).headers, CACHE_S, "the header to go")
    assert {path: _get(strict, path, query).content for path, query, _ in FIGURES} == {
        path: resp.content for path, resp in current.items()
    }


def test_rollups_behind_by_less_than_the_threshold_say_nothing(
    fed: ApiHarness, strict: httpx.Client
) -> None:
    _mark_pending(fed, age_s=5)  # pending, but well within the minute
    for path, query, _ in FIGURES:
        resp = _get(strict, path, query)
        assert HEADER not in resp.headers, path
        assert FIELD not in json.dumps(resp.json()), path
    # the default threshold (300 s) of the suite's API says nothing either, however behind
    _mark_pending(fed, age_s=120)
    resp = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/consumption", params=WINDOW, headers=fed.as_("officer")
    )
    assert HEADER not in resp.headers


def test_every_get_route_is_classified_and_figure_routes_document_the_header(
    fed: ApiHarness,
) -> None:
    doc = fed.client.get("/openapi.json").json()
    routes = {path for path, item in doc["paths"].items() if "get" in item}
    assert routes >= FIGURE_ROUTES
    assert routes - FIGURE_ROUTES == NOT_FIGURE_ROUTES
    for path in FIGURE_ROUTES:
        assert HEADER in doc["paths"][path]["get"]["responses"]["200"]["headers"], path
    energy = doc["components"]["schemas"]["EnergyOut"]
    assert FIELD in energy["properties"]
    assert FIELD not in energy.get("required", [])
