"""Deactivating an account (console and ``energymon users deactivate``, one core function): it
can no longer log in, and its API tokens, console sessions and API keys are refused at once, even
after it is reactivated; an admin cannot deactivate themself or the last active admin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import httpx

from services.api.users import create_api_key
from services.core.db import make_engine
from tests.integration.api.conftest import PASSWORD, ApiHarness
from tests.integration.console.conftest import csrf_of, log_in
from tests.support.api import token

Clients = Callable[[str | None], httpx.Client]


def _act(admin: httpx.Client, user: str, action: str) -> httpx.Response:
    return admin.post(f"/console/admin/users/{user}/{action}", data={"csrf_token": csrf_of(admin)})


def _cli(api: ApiHarness, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENERGYMON_DATABASE_URL": api.db.url}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "users", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_deactivated_accounts_token_session_and_key_are_refused_at_once(
    browser_like: Clients, api: ApiHarness
) -> None:
    engine = make_engine(api.db)
    with engine.begin() as conn:
        key = create_api_key(conn, "ent_a", "wall screen")
    engine.dispose()
    session = browser_like("ent_a")
    bearer = api.as_("ent_a")
    assert session.get("/console/").status_code == 200
    assert api.client.get("/api/v1/me", headers=bearer).status_code == 200
    assert api.client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200

    admin = browser_like("admin")
    done = _act(admin, "ent_a", "deactivate")
    assert done.status_code == 200, done.text[:300]
    assert 'data-user="ent_a" data-active="no"' in done.text

    refused = api.client.get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401
    assert "deactivated" in refused.json()["detail"]
    assert api.client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    page = session.get("/console/")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/console/login")
    assert log_in(browser_like(None), "ent_a").status_code != 303
    token_answer = api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "ent_a", "password": PASSWORD},
    )
    assert token_answer.status_code == 401

    # reactivated: it logs in again, but what was issued before stays refused
    assert _act(admin, "ent_a", "activate").status_code == 200
    assert api.client.get("/api/v1/me", headers=bearer).status_code == 401
    assert session.get("/console/").status_code == 303
    fresh = token(api.client, "ent_a", PASSWORD)
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).is_success
    assert log_in(browser_like(None), "ent_a").status_code == 303


def test_an_admin_cannot_deactivate_themself_or_the_last_admin(
    browser_like: Clients, api: ApiHarness
) -> None:
    admin = browser_like("admin")
    self_refused = _act(admin, "admin", "deactivate")
    assert self_refused.status_code == 409
    assert 'data-user="admin" data-active="yes"' in self_refused.text
    assert "不能停用自己的账户" in self_refused.text
    last = _cli(api, "deactivate", "admin")
    assert last.returncode != 0
    assert "last active admin" in last.stderr
    assert len(last.stderr.strip().splitlines()) <= 2
    assert api.client.get("/api/v1/me", headers=api.as_("admin")).status_code == 200


def test_the_command_line_deactivates_and_reactivates_with_the_same_effect(
    api: ApiHarness,
) -> None:
    bearer = api.as_("officer")
    result = _cli(api, "deactivate", "officer")
    assert result.returncode == 0, result.stderr
    assert "officer is now deactivated" in result.stdout
    assert api.client.get("/api/v1/me", headers=bearer).status_code == 401
    assert "was already deactivated" in _cli(api, "deactivate", "officer").stdout
    assert _cli(api, "activate", "officer").returncode == 0
    assert token(api.client, "officer", PASSWORD)
    assert _cli(api, "deactivate", "nobody").returncode != 0


def test_deactivating_needs_an_admin_and_the_csrf_token(
    browser_like: Clients, api: ApiHarness
) -> None:
    officer = browser_like("officer")
    assert _act(officer, "ent_b", "deactivate").status_code == 403
    admin = browser_like("admin")
    forged = admin.post("/console/admin/users/ent_b/deactivate", data={"csrf_token": "x"})
    assert forged.status_code == 403
    assert api.client.get("/api/v1/me", headers=api.as_("ent_b")).status_code == 200
