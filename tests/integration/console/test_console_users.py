"""Admin's users and API keys: the accounts with their role and enterprise or gateway, creating an
account (it can log in; a refusal creates nothing), issuing a key (shown once, then only its
prefix), revoking a key (it stops working); admins only, with the CSRF token."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from services.api.users import create_api_key
from services.core.db import make_engine
from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A
from tests.integration.console.conftest import csrf_of, log_in

Clients = Callable[[str | None], httpx.Client]
NEW_PASSWORD = "a long enough password"


def _new_user(client: httpx.Client, **fields: str) -> httpx.Response:
    form = {"username": "clerk", "password": NEW_PASSWORD, "role": "enterprise", **fields}
    return client.post("/console/admin/users", data={**form, "csrf_token": csrf_of(client)})


def _issue_key(api: ApiHarness) -> str:
    engine = make_engine(api.db)
    with engine.begin() as conn:
        key = create_api_key(conn, "ent_a", "meter upload")
    engine.dispose()
    return key


def _key_works(api: ApiHarness, key: str) -> bool:
    resp = api.client.get("/api/v1/me", headers={"X-API-Key": key})
    return resp.status_code == 200


def test_an_admin_sees_every_account_with_its_enterprise_and_gateway(
    browser_like: Clients,
) -> None:
    page = browser_like("admin").get("/console/admin/users")
    assert page.status_code == 200
    assert '<tr data-user="officer" data-active="yes"><td>officer</td>' in page.text
    gateway_row = page.text[page.text.index('data-user="gw_a"') :].split("</tr>")[0]
    assert ENT_A in gateway_row
    assert "gw-01" in gateway_row
    assert "argon2" not in page.text  # never a password hash


def test_an_admin_creates_an_account_that_can_log_in(browser_like: Clients) -> None:
    admin = browser_like("admin")
    resp = _new_user(admin, enterprise=ENT_A)
    assert resp.status_code == 200, resp.text[:300]
    assert 'data-user="clerk"' in resp.text
    assert log_in(browser_like(None), "clerk", NEW_PASSWORD).status_code == 303


def test_a_refused_account_says_why_keeps_the_form_and_creates_nothing(
    browser_like: Clients,
) -> None:
    admin = browser_like("admin")
    short = _new_user(admin, enterprise=ENT_A, password="short")
    assert short.status_code == 422
    assert "密码至少需要 12 个字符" in short.text  # the refusal in the page's language
    assert 'value="clerk"' in short.text  # the form keeps what was typed
    unknown = _new_user(admin, enterprise="no-such-enterprise")
    assert unknown.status_code == 422
    assert "企业 no-such-enterprise 尚未登记" in unknown.text
    assert 'data-user="clerk"' not in admin.get("/console/admin/users").text


def test_an_admin_revokes_an_api_key_and_it_stops_working(
    browser_like: Clients, api: ApiHarness
) -> None:
    key = _issue_key(api)
    assert _key_works(api, key)
    admin = browser_like("admin")
    page = admin.get("/console/admin/users").text
    prefix = page.split('<tr data-key="')[1].split('"')[0]
    assert key.startswith(f"emk_{prefix}_")
    resp = admin.post(f"/console/admin/keys/{prefix}/revoke", data={"csrf_token": csrf_of(admin)})
    assert resp.status_code == 200
    assert not _key_works(api, key)
    again = admin.post(f"/console/admin/keys/{prefix}/revoke", data={"csrf_token": csrf_of(admin)})
    assert again.status_code == 404


def test_only_admins_with_the_csrf_token_manage_accounts(
    browser_like: Clients, api: ApiHarness
) -> None:
    key = _issue_key(api)
    officer = browser_like("officer")
    assert officer.get("/console/admin/users").status_code == 403
    assert _new_user(officer, enterprise=ENT_A).status_code == 403
    admin = browser_like("admin")
    forged = admin.post(
        "/console/admin/users",
        data={"username": "clerk", "password": NEW_PASSWORD, "role": "officer", "csrf_token": "x"},
    )
    assert forged.status_code == 403
    prefix = admin.get("/console/admin/users").text.split('<tr data-key="')[1].split('"')[0]
    assert admin.post(f"/console/admin/keys/{prefix}/revoke").status_code == 403
    assert _key_works(api, key)
    assert 'data-user="clerk"' not in admin.get("/console/admin/users").text


def _issue_in_console(admin: httpx.Client, user: str, name: str, **extra: str) -> httpx.Response:
    form = {"name": name, "csrf_token": csrf_of(admin), **extra}
    return admin.post(f"/console/admin/users/{user}/keys", data=form)


def test_an_issued_key_is_shown_once_works_and_is_listed_by_its_prefix_only(
    browser_like: Clients, api: ApiHarness
) -> None:
    admin = browser_like("admin")
    issued = _issue_in_console(admin, "gw_a", "gateway upload")
    assert issued.status_code == 200, issued.text[:300]
    assert issued.headers["cache-control"] == "no-store"
    key = issued.text.split('<code id="issued-key">')[1].split("</code>")[0]
    prefix = key.split("_")[1]
    assert key.startswith(f"emk_{prefix}_")
    assert 'data-copy="#issued-key"' in issued.text  # the copy button, served by console.js
    assert _key_works(api, key)
    listing = admin.get("/console/admin/users").text
    row = listing[listing.index(f'<tr data-key="{prefix}"') :].split("</tr>")[0]
    assert "gateway upload" in row
    assert "gw_a" in row
    assert ">admin<" in row  # who issued it
    assert key not in listing  # never again: the secret part is nowhere
    assert key.split("_", 2)[2] not in listing


def test_issuing_a_key_needs_the_csrf_token_an_admin_and_an_active_account(
    browser_like: Clients, api: ApiHarness
) -> None:
    admin = browser_like("admin")
    forged = admin.post("/console/admin/users/ent_a/keys", data={"name": "x", "csrf_token": "x"})
    assert forged.status_code == 403
    officer = browser_like("officer")
    assert _issue_in_console(officer, "ent_a", "mine").status_code == 403
    nobody = _issue_in_console(admin, "nobody", "ghost")
    assert nobody.status_code == 422
    assert "nobody" in nobody.text
    assert 'id="issued-key"' not in nobody.text
    assert "<tr data-key=" not in admin.get("/console/admin/users").text
