"""Failed logins are throttled per username and per client address (ENERGYMON_API_LOGIN_*).

The server trusts ``X-Forwarded-For`` from loopback (uvicorn's default trusted proxy), which is how
these tests log in from several client addresses."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from structlog.testing import capture_logs

from tests.integration.api.conftest import PASSWORD, ApiHarness
from tests.integration.api.test_auth import _sample
from tests.support.services import wait_for

SMALL = {"login_failures_per_username": 3, "login_failures_per_address": 6}
WRONG = "not the password"


def _login(
    api: ApiHarness, username: str, password: str, address: str = "203.0.113.7"
) -> httpx.Response:
    return api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


def _statuses(api: ApiHarness, attempts: list[tuple[str, str]], address: str) -> list[int]:
    return [_login(api, user, password, address).status_code for user, password in attempts]


@pytest.mark.parametrize("api_overrides", [SMALL])
def test_a_username_over_its_failure_limit_gets_429_even_with_the_right_password(
    api: ApiHarness,
) -> None:
    assert _statuses(api, [("officer", WRONG)] * 3, "203.0.113.7") == [401, 401, 401]
    refused = _login(api, "officer", WRONG)
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= api.settings.login_window_s
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "https://energymon.dev/problems/login-throttled"
    assert body["detail"] == (
        "too many failed logins for this username: logins are refused, even with the right "
        f"password, for {retry_after} s"
    )
    assert body["retry_after_s"] == retry_after
    # the right password does not get through the lockout, from any address
    assert _login(api, "officer", PASSWORD).status_code == 429
    assert _login(api, "officer", PASSWORD, "198.51.100.1").status_code == 429
    # another username from the same address is still judged on its password
    assert _statuses(api, [("ent_a", WRONG), ("ent_a", PASSWORD)], "203.0.113.7") == [401, 200]


@pytest.mark.parametrize("api_overrides", [SMALL])
def test_an_unknown_username_is_throttled_exactly_like_a_known_one(api: ApiHarness) -> None:
    answers = {}
    for user, address in (("officer", "203.0.113.7"), ("no-such-user", "198.51.100.1")):
        responses = [_login(api, user, WRONG, address) for _ in range(4)]
        answers[user] = [(r.status_code, r.json()["type"], r.json()["detail"]) for r in responses]
    invalid = (401, "https://energymon.dev/problems/invalid-grant", "invalid credentials")
    assert answers["officer"][:3] == [invalid] * 3
    assert answers["officer"][3][:2] == (429, "https://energymon.dev/problems/login-throttled")
    assert answers["no-such-user"] == answers["officer"]


@pytest.mark.parametrize("api_overrides", [SMALL])
def test_an_address_over_its_failure_limit_is_refused_for_every_username(api: ApiHarness) -> None:
    guesses = [(user, WRONG) for user in ("admin", "ent_a", "ent_b", "nobody") for _ in range(2)]
    statuses = _statuses(api, guesses[:6], "203.0.113.7")
    assert statuses == [401] * 6  # no username reached its own limit of 3
    refused = _login(api, "officer", PASSWORD, "203.0.113.7")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("too many failed logins from this address")
    assert _login(api, "officer", PASSWORD, "198.51.100.1").status_code == 200
    assert _login(api, "ent_a", PASSWORD, "198.51.100.1").status_code == 200


@pytest.mark.parametrize("api_overrides", [SMALL])
def test_a_successful_login_clears_the_usernames_failures(api: ApiHarness) -> None:
    sequence = [("officer", WRONG)] * 2 + [("officer", PASSWORD)] + [("officer", WRONG)] * 4
    assert _statuses(api, sequence, "203.0.113.7") == [401, 401, 200, 401, 401, 401, 429]


@pytest.mark.parametrize("api_overrides", [{**SMALL, "login_window_s": 5}])
def test_the_lockout_ends_when_the_window_passes_and_refusals_do_not_extend_it(
    api: ApiHarness,
) -> None:
    first_failure = time.monotonic()
    assert _statuses(api, [("officer", WRONG)] * 3, "203.0.113.7") == [401, 401, 401]
    assert _login(api, "officer", PASSWORD).status_code == 429
    seen: list[int] = []

    def logged_in() -> bool:
        seen.append(_login(api, "officer", PASSWORD).status_code)
        return seen[-1] == 200

    wait_for(logged_in, 30, "the lockout to end", interval=0.2)
    assert set(seen[:-1]) <= {429}
    # every refused attempt was made inside the window, and none of them pushed its end back
    assert time.monotonic() - first_failure < api.settings.login_window_s + 10


@pytest.mark.parametrize("api_overrides", [{**SMALL, "login_failures_per_address": 100}])
def test_concurrent_guesses_cannot_overrun_the_username_limit(api: ApiHarness) -> None:
    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(lambda _: _login(api, "officer", WRONG).status_code, range(12)))
    assert statuses == [401] * 3 + [429] * 9


@pytest.mark.parametrize("api_overrides", [SMALL])
def test_throttling_is_counted_and_logged_once_per_lockout(api: ApiHarness) -> None:
    with capture_logs() as logs:
        _statuses(api, [("officer", WRONG)] * 5, "203.0.113.7")
    text = api.client.get("/metrics").text
    name = "energymon_api_logins_throttled_total"
    assert _sample(text, name, limit="username") == 2
    assert _sample(text, name, limit="address") == 0
    throttled = [e for e in logs if e["event"] == "login throttled"]
    assert len(throttled) == 1
    assert throttled[0]["log_level"] == "warning"
    assert {k: throttled[0][k] for k in ("limit", "username", "client")} == {
        "limit": "username",
        "username": "officer",
        "client": "203.0.113.7",
    }
    assert 1 <= throttled[0]["retry_after_s"] <= api.settings.login_window_s
    assert PASSWORD not in str(logs)
    assert WRONG not in str(logs)
