"""The console over plain HTTP: every page needs a console session, POSTs need the CSRF token,
an enterprise account sees only its own enterprise (another's is 404, as in the JSON API)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import psycopg
import pytest

from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A, ENT_B
from tests.integration.console.conftest import CSRF_COOKIE, SESSION_COOKIE, csrf_of, log_in

Clients = Callable[[str | None], httpx.Client]
PAGES = [
    "/console/",
    "/console/data-centres",
    "/console/data-centres?window=rolling_24h",
    "/console/budgets",
    "/console/intensity",
    "/console/intensity?by=quota_distance&period=ytd",
    "/console/alerts",
    "/console/alerts/count",
    "/console/enterprises",
    f"/console/enterprises/{ENT_A}",
    f"/console/enterprises/{ENT_A}/data-centres/dc-1",
    f"/console/enterprises/{ENT_A}/meters/M-100",
    f"/console/enterprises/{ENT_A}/report?format=csv",
    f"/console/enterprises/{ENT_A}/consumption?resolution=15m",
    f"/console/enterprises/{ENT_A}/quality?format=xlsx",
    "/console/quality",
    "/console/quality/report?format=csv",
    "/console/reports/district?format=csv",
]


def _alert_page(api: ApiHarness, tenant: str) -> str:
    return f"/console/alerts/{api.alert_ids[tenant]}"


def test_the_root_sends_people_to_the_console(api: ApiHarness) -> None:
    resp = api.client.get("/", follow_redirects=False)
    assert resp.status_code == 307
    assert resp.headers["location"] == "/console/"


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_form_and_back(
    browser_like: Clients, page: str
) -> None:
    resp = browser_like(None).get(page)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/console/login?next=/console/")


def test_every_page_opens_for_an_officer(browser_like: Clients, api: ApiHarness) -> None:
    officer = browser_like("officer")
    for page in [*PAGES, _alert_page(api, "A"), _alert_page(api, "B")]:
        resp = officer.get(page)
        assert resp.status_code == 200, (page, resp.text[:300])


def test_login_sets_an_httponly_lax_session_cookie_and_the_pages_are_not_cached(
    browser_like: Clients,
) -> None:
    client = browser_like(None)
    resp = log_in(client, "officer")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/console/"
    session = next(h for h in resp.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "Path=/console" in session
    page = client.get("/console/")
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(
    browser_like: Clients,
) -> None:
    client = browser_like(None)
    client.get("/console/login")
    for target, expected in [
        ("/console/alerts", "/console/alerts"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/", "/console/"),
    ]:
        resp = client.post(
            "/console/login",
            data={
                "username": "officer",
                "password": "correct horse battery",
                "next": target,
                "csrf_token": csrf_of(client),
            },
        )
        assert resp.headers["location"] == expected


def test_a_login_post_without_the_csrf_token_is_refused(browser_like: Clients) -> None:
    client = browser_like(None)
    client.get("/console/login")
    resp = client.post(
        "/console/login", data={"username": "officer", "password": "correct horse battery"}
    )
    assert resp.status_code == 403
    assert SESSION_COOKIE not in resp.headers.get("set-cookie", "")


def test_acknowledging_without_the_csrf_token_is_refused_and_changes_nothing(
    browser_like: Clients, api: ApiHarness
) -> None:
    officer = browser_like("officer")
    alert = api.alert_ids["A"]
    refused = officer.post(f"/console/alerts/{alert}/acknowledge", data={"comment": "x"})
    assert refused.status_code == 403
    forged = officer.post(
        f"/console/alerts/{alert}/acknowledge",
        data={"comment": "x"},
        headers={"X-CSRF-Token": "not-the-token"},
    )
    assert forged.status_code == 403
    state = api.client.get(f"/api/v1/alerts/{alert}", headers=api.as_("officer")).json()["state"]
    assert state == "open"


def test_an_officer_acknowledges_then_resolves_an_alert_with_a_comment(
    browser_like: Clients, api: ApiHarness
) -> None:
    officer = browser_like("officer")
    alert = api.alert_ids["A"]
    token = {"X-CSRF-Token": csrf_of(officer), "HX-Request": "true"}
    ack = officer.post(
        f"/console/alerts/{alert}/acknowledge", data={"comment": "on site"}, headers=token
    )
    assert ack.status_code == 200
    assert 'data-state="acknowledged"' in ack.text
    no_comment = officer.post(f"/console/alerts/{alert}/resolve", data={}, headers=token)
    assert 'data-state="acknowledged"' in no_comment.text  # refused, said on the detail
    done = officer.post(
        f"/console/alerts/{alert}/resolve",
        data={"comment": "meter replaced", "csrf_token": csrf_of(officer)},
    )
    assert 'data-state="resolved"' in done.text
    body = api.client.get(f"/api/v1/alerts/{alert}", headers=api.as_("officer")).json()
    assert body["state"] == "resolved"
    assert body["resolution_comment"] == "meter replaced"
    assert [e["action"] for e in body["history"]][-2:] == ["acknowledged", "resolved"]


def test_an_enterprise_account_sees_its_own_pages_and_404_for_another_enterprises(
    browser_like: Clients, api: ApiHarness
) -> None:
    ent_a = browser_like("ent_a")
    assert ent_a.get(f"/console/enterprises/{ENT_A}").status_code == 200
    assert ent_a.get(_alert_page(api, "A")).status_code == 200
    for page in [
        f"/console/enterprises/{ENT_B}",
        f"/console/enterprises/{ENT_B}/data-centres/dc-b",
        f"/console/enterprises/{ENT_B}/meters/B-1",
        f"/console/enterprises/{ENT_A}/meters/NO-SUCH-METER",
        f"/console/enterprises/{ENT_B}/report?format=xlsx",
        _alert_page(api, "B"),
        "/console/enterprises/no-such-code",
    ]:
        assert ent_a.get(page).status_code == 404, page


def test_an_enterprise_account_sees_only_its_own_alerts_and_data_centres(
    browser_like: Clients, api: ApiHarness
) -> None:
    ent_a = browser_like("ent_a")
    inbox = ent_a.get("/console/alerts").text
    assert f'data-alert="{api.alert_ids["A"]}"' in inbox
    assert f'data-alert="{api.alert_ids["B"]}"' not in inbox
    ranking = ent_a.get("/console/data-centres").text
    assert f'data-site="{ENT_A}/dc-1"' in ranking
    assert ENT_B not in ranking
    resp = ent_a.get("/console/enterprises")  # the list is one's own page
    assert resp.headers["location"] == f"/console/enterprises/{ENT_A}"


def test_an_enterprise_account_may_not_acknowledge_or_download_the_district_report(
    browser_like: Clients, api: ApiHarness
) -> None:
    ent_a = browser_like("ent_a")
    resp = ent_a.post(
        f"/console/alerts/{api.alert_ids['A']}/acknowledge",
        headers={"X-CSRF-Token": csrf_of(ent_a)},
    )
    assert resp.status_code == 403
    assert ent_a.get("/console/reports/district?format=csv").status_code == 403


def test_gateway_credentials_cannot_use_the_console(browser_like: Clients) -> None:
    client = browser_like(None)
    resp = log_in(client, "gw_a")
    assert resp.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/console/").status_code == 303


def test_an_api_bearer_token_does_not_open_the_console_and_a_console_cookie_is_no_api_token(
    browser_like: Clients, api: ApiHarness
) -> None:
    bearer = browser_like(None).get("/console/", headers=api.as_("officer"))
    assert bearer.status_code == 303
    officer = browser_like("officer")
    cookie = officer.cookies.get(SESSION_COOKIE, path="/console")
    resp = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {cookie}"})
    assert resp.status_code == 401


def test_logout_needs_the_csrf_token_and_ends_the_session(browser_like: Clients) -> None:
    officer = browser_like("officer")
    assert officer.post("/console/logout").status_code == 403
    resp = officer.post("/console/logout", data={"csrf_token": csrf_of(officer)})
    assert resp.status_code == 303
    assert officer.get("/console/").status_code == 303


@pytest.mark.parametrize("api_overrides", [{"login_failures_per_username": 2}])
def test_the_login_throttle_applies_to_the_console(browser_like: Clients) -> None:
    client = browser_like(None)
    for _ in range(2):
        assert log_in(client, "officer", "wrong password!").status_code == 401
    refused = log_in(client, "officer")
    assert refused.status_code == 429
    assert SESSION_COOKIE not in client.cookies


def test_chinese_by_default_and_english_on_request(browser_like: Clients) -> None:
    officer = browser_like("officer")
    assert "全区总览" in officer.get("/console/").text
    switch = officer.get("/console/lang/en?next=/console/alerts")
    assert switch.headers["location"] == "/console/alerts"
    page = officer.get("/console/").text
    assert "District overview" in page
    assert 'lang="en"' in page


def test_static_files_are_served_with_cache_headers(api: ApiHarness) -> None:
    for path in ["/console/static/vendor/htmx.min.js", "/console/static/vendor/echarts.min.js"]:
        resp = api.client.get(path)
        assert resp.status_code == 200
        assert resp.headers["cache-control"] == "public, max-age=3600"


def test_the_csrf_cookie_is_httponly_and_lax(browser_like: Clients) -> None:
    resp = browser_like(None).get("/console/login")
    cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith(CSRF_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_a_meter_page_shows_its_readings_counter_events_and_its_gateways_dead_letters(
    browser_like: Clients, fed: ApiHarness
) -> None:
    with psycopg.connect(fed.db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO counter_events (point_id, ts, kind, energy) SELECT p.id, now(), "
            "'rollover', 12.5 FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = 'M-100' AND p.quantity = 'energy_import_kwh'"
        )
        conn.execute(
            "INSERT INTO dead_letters (received_at, source, topic, enterprise_code, gateway_code, "
            "reason, detail, payload, payload_size, fingerprint) VALUES (now(), 'mqtt', 't', %s, "
            "'gw-01', 'unknown_meter', 'meter X-9 is not registered', '', 0, 'f1')",
            (ENT_A,),
        )
    page = browser_like("officer").get(f"/console/enterprises/{ENT_A}/meters/M-100")
    assert page.status_code == 200
    assert "计数器翻转" in page.text  # the rollover, in Chinese
    assert "meter X-9 is not registered" in page.text


@pytest.mark.parametrize("api_overrides", [{"console_secure_cookie": True}])
def test_cookies_are_secure_when_configured(api: ApiHarness) -> None:
    # a client keeps Secure cookies for HTTPS only: this one is sent by hand, as a browser
    # behind the TLS proxy would
    form = api.client.get("/console/login")
    (csrf,) = [c for c in form.headers.get_list("set-cookie") if c.startswith(CSRF_COOKIE)]
    token = csrf.split(";", 1)[0].split("=", 1)[1]
    resp = api.client.post(
        "/console/login",
        data={"username": "officer", "password": "correct horse battery", "csrf_token": token},
        headers={"Cookie": f"{CSRF_COOKIE}={token}"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    cookies = [csrf, *resp.headers.get_list("set-cookie")]
    assert {c.split("=", 1)[0] for c in cookies} == {SESSION_COOKIE, CSRF_COOKIE}
    assert all("Secure" in c for c in cookies)
