"""The console's fixtures: the API harness (tests/integration/api/conftest.py: the small district,
one account per role, an open alert per enterprise) and logged-in browser-like clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.integration.api.conftest import (  # noqa: F401 - fixtures used by this package
    PASSWORD,
    ApiHarness,
    api,
    api_config_extra,
    api_overrides,
    fed,
)

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
