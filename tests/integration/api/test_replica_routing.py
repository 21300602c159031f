"""ENERGYMON_DATABASE_READ_URL on plain PostgreSQL: GET answers come from the read URL; logins,
token checks and writes from the primary; an unreachable read URL falls back to the primary and
says so in /readyz and /metrics. The read URL here is a copy of the primary's database made before
the API's accounts and alerts were added, so each answer shows which database it came from (a
real streaming replica and its lag: test_read_replica.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import PASSWORD, ApiHarness, start_api
from tests.support.db import clone, drop, with_database
from tests.support.services import free_port, wait_for

BEHIND = "X-Energymon-Replica-Behind-S"


def _alerts(api: ApiHarness) -> list[dict[str, Any]]:
    resp = api.client.get("/api/v1/alerts", headers=api.as_("officer"))
    assert resp.status_code == 200, resp.text
    assert BEHIND not in resp.headers  # a copy on the same server is never behind
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


@pytest.fixture
def copy_db(small_district: DatabaseSettings, pg_server: str) -> Iterator[str]:
    """A copy of the provisioned district: no accounts, no alerts."""
    name = clone(pg_server, urlsplit(small_district.url).path.lstrip("/"))
    yield with_database(pg_server, name)
    drop(pg_server, name)


@pytest.fixture
def routed(small_district: DatabaseSettings, copy_db: str) -> Iterator[ApiHarness]:
    db = small_district.model_copy(update={"read_url": copy_db, "read_max_lag_s": 0.0})
    with start_api(db) as harness:
        yield harness


def test_answers_come_from_the_read_url_while_logins_token_checks_and_writes_use_the_primary(
    routed: ApiHarness, copy_db: str
) -> None:
    api = routed
    # the tokens were issued by logins against the primary (the copy has no accounts), and
    # they are accepted: their versions are checked on the primary too
    wait_for(lambda: _alerts(api) == [], 10, "the first answer from the read URL")
    alert = api.alert_ids["A"]
    assert api.client.get(f"/api/v1/alerts/{alert}", headers=api.as_("officer")).status_code == 404

    ack = api.client.post(
        f"/api/v1/alerts/{alert}/acknowledge",
        json={"comment": "on site"},
        headers=api.as_("officer"),
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["state"] == "acknowledged"  # the write's own answer reads the primary
    with psycopg.connect(api.db.url) as conn:
        assert conn.execute("SELECT state FROM alerts WHERE id = %s", (alert,)).fetchone() == (
            "acknowledged",
        )
    with psycopg.connect(copy_db) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    metrics = api.client.get("/metrics").text
    assert "energymon_api_replica_up 1.0" in metrics
    assert "energymon_api_replica_lag_seconds 0.0" in metrics


def test_a_console_change_answers_with_its_wal_position_and_pages_read_the_read_url(
    routed: ApiHarness,
) -> None:
    api = routed
    with httpx.Client(base_url=api.url, timeout=30, follow_redirects=False) as officer:
        officer.get("/console/login").raise_for_status()
        csrf = str(officer.cookies.get("energymon_csrf", path="/console"))
        login = officer.post(
            "/console/login",
            data={"username": "officer", "password": PASSWORD, "csrf_token": csrf},
        )
        assert login.status_code == 303, login.text
        csrf = str(officer.cookies.get("energymon_csrf", path="/console"))  # the session's own
        alert = api.alert_ids["A"]
        wait_for(
            lambda: officer.get(f"/console/alerts/{alert}").status_code == 404,
            10,
            "console pages read from the copy, which has no alerts",
        )
        ack = officer.post(
            f"/console/alerts/{alert}/acknowledge",
            data={"comment": "on site"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert ack.status_code == 200, ack.text
        assert 'data-state="acknowledged"' in ack.text
        position = officer.cookies.get("energymon_wal", path="/console")
        assert position is not None
        assert position.isdigit()
        with psycopg.connect(api.db.url) as conn:
            now = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')")
            assert 0 < int(position) <= int(now.fetchone()[0])  # type: ignore[index]


@pytest.fixture
def unreachable(small_district: DatabaseSettings) -> Iterator[ApiHarness]:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/energymon"
    db = small_district.model_copy(update={"read_url": nowhere, "connect_timeout_s": 1.0})
    with start_api(db) as harness:
        yield harness


def test_an_unreachable_read_url_falls_back_to_the_primary_and_readyz_says_so(
    unreachable: ApiHarness,
) -> None:
    api = unreachable

    def said() -> bool:
        return "read replica unreachable" in api.client.get("/readyz").text

    wait_for(said, 10, "/readyz to report the unreachable replica")
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert {a["id"] for a in _alerts(api)} == set(api.alert_ids.values())
    assert "energymon_api_replica_up 0.0" in api.client.get("/metrics").text
