"""The console's fixtures: the API harness (tests/integration/api/conftest.py: the small district,
one account per role, an open alert per enterprise) and logged-in browser-like clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from tests.integration.api.conftest import (  # noqa: F401 - fixtures used by this package
    PASSWORD,
    ApiHarness,
    api,
    api_config_extra,
    api_overrides,
    fed,
    feed,
)
from tests.integration.conftest import ENT_A, ENT_B

CSRF_COOKIE = "energymon_csrf"
SESSION_COOKIE = "energymon_session"


def csrf_of(client: httpx.Client) -> str:
    """The CSRF token the console gave this client (its cookie, as every page carries it)."""
    return str(client.cookies.get(CSRF_COOKIE, path="/console"))


def log_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    client.get("/console/login").raise_for_status()
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(client)},
    )


@pytest.fixture
def browser_like(api: ApiHarness) -> Iterator[Callable[[str | None], httpx.Client]]:  # noqa: F811
    """Clients that keep cookies and do not follow redirects, logged in as the user given
    (None: anonymous)."""
    clients: list[httpx.Client] = []

    def make(username: str | None) -> httpx.Client:
        client = httpx.Client(base_url=api.url, timeout=30, follow_redirects=False)
        clients.append(client)
        if username is not None:
            resp = log_in(client, username)
            assert resp.status_code == 303, resp.text
        return client

    yield make
    for client in clients:
        client.close()


def feed_last_day(harness: ApiHarness) -> None:
    """The last day of readings (data centre dc-1 at PUE 1.3 against its 1.25 limit) and this
    year's tce budgets (A has used about 90 % of its), rolled up."""
    now = datetime.now(UTC)
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start -= timedelta(hours=24)
    feed(harness, "DC-IN-1", 13.0, start)
    feed(harness, "DC-IT-1", 10.0, start)
    feed(harness, "M-100", 1.0, start)
    feed(harness, "B-1", 2.0, start)
    with psycopg.connect(harness.db.libpq_url) as conn:
        for code, amount in ((ENT_A, 1.2), (ENT_B, 10.0)):
            conn.execute(
                "INSERT INTO budgets (enterprise_id, year, carrier, amount, unit) "
                "SELECT id, %s, '', %s, 'tce' FROM enterprises WHERE code = %s",
                (now.astimezone(ZoneInfo("Asia/Shanghai")).year, amount, code),
            )
    engine = make_engine(harness.db)
    catch_up(engine)
    engine.dispose()


@pytest.fixture
def fed_recent(api: ApiHarness) -> ApiHarness:  # noqa: F811 - the api fixture imported above
    """:func:`feed_last_day` on the test's district."""
    feed_last_day(api)
    return api
