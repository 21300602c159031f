"""A real streaming replica: a private primary and its standby (``pg_basebackup -R``), the API
with ENERGYMON_DATABASE_READ_URL on the standby. With replay paused on the standby
(``pg_wal_replay_pause()``) a change on the primary is not on the replica yet: the API answers the
old figure and says how far behind it is, the write itself went to the primary, and an officer's
console acknowledge shows at once on the officer's next page while others still see the replica's
state with the note; after ``pg_wal_replay_resume()`` everyone sees the new state, unmarked."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, LiteralString

import httpx
import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import DAY, PASSWORD, ApiHarness, feed, start_api
from tests.integration.conftest import ENT_A, provision_small_district
from tests.support.db import create_template, with_database
from tests.support.services import Private, wait_for

BEHIND = "X-Energymon-Replica-Behind-S"
WINDOW = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
M100_KWH = 96 * 1 * 80  # a day of M-100 (1 a quarter hour, multiplier 80)
DC_IN_KWH = 96 * 13  # a day of the data centre's facility meter
DEADLINE_S = 20


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """Maintenance URLs of a private primary and of its streaming standby."""
    private = Private()
    try:
        parent = Path(tempfile.mkdtemp(prefix="energymon-replica-"))
        private.temp_dirs.append(parent)
        primary = private.start_postgres(parent / "primary", fsync=False)
        yield primary, private.start_standby(primary, parent / "standby")
    finally:
        private.close()


INSERTED = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"  # on the primary
REPLAYED = "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')"  # on the standby


def _position(url: str, query: LiteralString) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _replayed(servers: tuple[str, str]) -> None:
    """Wait until the standby has replayed everything committed on the primary so far."""
    primary, standby = servers
    target = _position(primary, INSERTED)
    wait_for(
        lambda: _position(standby, REPLAYED) >= target,
        DEADLINE_S,
        "the standby to replay the primary's WAL",
    )


def _replay(standby: str, *, paused: bool) -> None:
    with psycopg.connect(standby, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


@pytest.fixture
def replicated(servers: tuple[str, str]) -> Iterator[ApiHarness]:
    """The API on the small district in a fresh database of the primary, reading the standby;
    every lag is said (ENERGYMON_DATABASE_READ_MAX_LAG_S=0). Replay resumes afterwards."""
    primary, standby = servers
    name = create_template(primary)  # a migrated database
    db = DatabaseSettings(
        url=with_database(primary, name),
        read_url=with_database(standby, name),
        read_max_lag_s=0.0,
        timescale="off",
    )
    provision_small_district(db)
    try:
        with start_api(db) as harness:
            _replayed(servers)
            yield harness
    finally:
        _replay(standby, paused=False)


def _rolled_up(api: ApiHarness, meter: str, per_15m: float) -> None:
    feed(api, meter, per_15m)
    engine = make_engine(api.db)
    catch_up(engine)
    engine.dispose()


def _energy(api: ApiHarness) -> httpx.Response:
    resp = api.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy", params=WINDOW, headers=api.as_("ent_a")
    )
    assert resp.status_code == 200, resp.text
    return resp


def _kwh(resp: httpx.Response) -> float:
    carriers: list[dict[str, Any]] = resp.json()["carriers"]
    return sum(float(c["amount"]) for c in carriers)


def _state(api: ApiHarness, alert: int) -> str:
    resp = api.client.get(f"/api/v1/alerts/{alert}", headers=api.as_("officer"))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["state"])


def test_the_api_answers_the_replicas_figure_with_its_lag_and_writes_to_the_primary(
    replicated: ApiHarness, servers: tuple[str, str]
) -> None:
    api, (_primary, standby) = replicated, servers
    _rolled_up(api, "M-100", 1.0)
    _replayed(servers)

    def current(resp: httpx.Response, kwh: float) -> bool:
        return _kwh(resp) == pytest.approx(kwh) and BEHIND not in resp.headers

    wait_for(lambda: current(_energy(api), M100_KWH), DEADLINE_S, "the replica's figure")

    _replay(standby, paused=True)
    _rolled_up(api, "DC-IN-1", 13.0)  # on the primary only, while replay is paused
    alert = api.alert_ids["A"]
    ack = api.client.post(
        f"/api/v1/alerts/{alert}/acknowledge",
        json={"comment": "on site"},
        headers=api.as_("officer"),
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["state"] == "acknowledged"
    with psycopg.connect(api.db.url) as conn:
        row = conn.execute("SELECT state FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert row == ("acknowledged",)  # the write went to the primary

    wait_for(lambda: BEHIND in _energy(api).headers, DEADLINE_S, "the lag header")
    stale = _energy(api)
    assert _kwh(stale) == pytest.approx(M100_KWH)  # the replica's (old) figure
    assert int(stale.headers[BEHIND]) >= 1
    assert _state(api, alert) == "open"  # the replica has not replayed the acknowledge
    lag = next(
        line
        for line in api.client.get("/metrics").text.splitlines()
        if line.startswith("energymon_api_replica_lag_seconds ")
    )
    assert float(lag.split()[1]) > 0

    _replay(standby, paused=False)
    wait_for(
        lambda: current(_energy(api), M100_KWH + DC_IN_KWH), DEADLINE_S, "the new figure, unmarked"
    )
    assert _state(api, alert) == "acknowledged"


def _drops_wal_cookie(resp: httpx.Response) -> bool:
    """The answer forgets the user's last change: the replica has replayed it."""
    return any(
        c.startswith("energymon_wal=") and "Max-Age=0" in c
        for c in resp.headers.get_list("set-cookie")
    )


def _console(api: ApiHarness, username: str) -> tuple[httpx.Client, str]:
    """A logged-in console client and its CSRF token."""
    client = httpx.Client(base_url=api.url, timeout=30, follow_redirects=False)
    client.get("/console/login").raise_for_status()
    csrf = str(client.cookies.get("energymon_csrf", path="/console"))
    login = client.post(
        "/console/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf}
    )
    assert login.status_code == 303, login.text
    return client, str(client.cookies.get("energymon_csrf", path="/console"))


def test_a_console_acknowledge_shows_at_once_on_the_officers_next_page_while_replay_is_paused(
    replicated: ApiHarness, servers: tuple[str, str]
) -> None:
    api, (_primary, standby) = replicated, servers
    officer, csrf = _console(api, "officer")
    other, _ = _console(api, "admin")
    alert = api.alert_ids["B"]
    page = f"/console/alerts/{alert}"
    _replayed(servers)  # the logins' own positions included: both read the replica from here
    wait_for(lambda: _drops_wal_cookie(officer.get(page)), DEADLINE_S, "reads on the replica")
    try:
        _replay(standby, paused=True)
        ack = officer.post(
            f"{page}/acknowledge",
            data={"comment": "on site"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert ack.status_code == 200, ack.text
        assert 'data-state="acknowledged"' in ack.text
        assert officer.cookies.get("energymon_wal", path="/console")

        mine = officer.get(page)  # the page right after the change: read on the primary
        assert 'data-state="acknowledged"' in mine.text
        assert 'id="replica-behind"' not in mine.text
        count = officer.get("/console/alerts/count")  # the header's badge, refreshed at once
        assert count.status_code == 200

        wait_for(lambda: 'id="replica-behind"' in other.get(page).text, DEADLINE_S, "the note")
        theirs = other.get(page)  # another user, no change of theirs pending: the replica
        assert 'data-state="open"' in theirs.text
        assert 'id="replica-behind"' in theirs.text
    finally:
        _replay(standby, paused=False)

    # once the replica has replayed the change the officer reads it again and the cookie goes
    wait_for(
        lambda: _drops_wal_cookie(officer.get(page)),
        DEADLINE_S,
        "the officer's reads to return to the replica",
    )
    assert officer.cookies.get("energymon_wal", path="/console") is None
    after = other.get(page)
    assert 'data-state="acknowledged"' in after.text
    assert 'id="replica-behind"' not in after.text
    officer.close()
    other.close()
