"""Every route x every role: an enterprise never sees another's data, officers never write the
registry, gateways never read. The matrix is generated from the app's own routes, so a new route
fails here until its expectations are written down."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A, ENT_B

# Path parameters for "tenant A" and "tenant B" versions of each route.
PARAMS = {
    "A": {
        "code": ENT_A,
        "meter": "M-100",
        "point": "energy_import_kwh",
        "site": "dc-1",
        "town": "Zhangjiawo",
    },
    "B": {
        "code": ENT_B,
        "meter": "B-1",
        "point": "energy_import_kwh",
        "site": "dc-b",
        "town": "Jingwu",
    },
}
QUERY = {"readings": {"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-02T00:00:00+08:00"}}
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/auth/token",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/docs/oauth2-redirect",
}
READERS = {"admin": "all", "officer": "all", "ent_a": "A", "ent_b": "B"}


def _get_routes(api: ApiHarness) -> list[str]:
    spec = api.client.get("/openapi.json").json()
    return sorted(p for p, ops in spec["paths"].items() if "get" in ops and p not in PUBLIC)


def _event_id(api: ApiHarness) -> str:
    """A demand-response event (events are district-wide; their results are per tenant)."""
    events = api.client.get("/api/v1/demand-response/events", headers=api.as_("officer")).json()
    if not events:
        events = [
            api.client.post(
                "/api/v1/demand-response/events",
                json={
                    "name": "evening peak",
                    "start": "2026-11-20T18:00:00+08:00",
                    "end": "2026-11-20T19:00:00+08:00",
                },
                headers=api.as_("officer"),
            ).json()
        ]
    return str(events[0]["id"])


def _fill(path: str, tenant: str, api: ApiHarness) -> str:
    params = {**PARAMS[tenant], "alert_id": str(api.alert_ids[tenant])}
    if "{event_id}" in path:
        params["event_id"] = _event_id(api)
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)


def _tenant_scoped(path: str) -> bool:
    return "{code}" in path or "{alert_id}" in path


def _officers_only(path: str) -> bool:
    """Aggregates over several enterprises."""
    return path.startswith(
        (
            "/api/v1/towns/",
            "/api/v1/district/",
            "/api/v1/reports/district/",
            "/api/v1/quality/district",
        )
    )


def _expected(user: str | None, path: str, tenant: str) -> int:
    if user is None:
        return 401
    if path == "/api/v1/me":
        return 200  # every credential may ask who it is
    if user == "gw_a":
        return 403
    if _officers_only(path):
        return 200 if READERS[user] == "all" else 403
    if not _tenant_scoped(path):
        return 200
    scope = READERS[user]
    return 200 if scope in ("all", tenant) else 404


@pytest.mark.parametrize("user", [None, "admin", "officer", "ent_a", "ent_b", "gw_a"])
def test_every_read_route_answers_each_role_as_its_tenancy_says(
    api: ApiHarness, user: str | None
) -> None:
    routes = _get_routes(api)
    assert "/api/v1/enterprises/{code}/meters" in routes
    assert "/api/v1/alerts/{alert_id}" in routes
    failures = []
    for path in routes:
        for tenant in ("A", "B") if _tenant_scoped(path) else ("A",):
            ranged = path.endswith(
                ("/readings", "/consumption", "/energy", "/energy/periods", "/peak-demand")
            )
            params = QUERY["readings"] if ranged else None
            resp = api.client.get(_fill(path, tenant, api), params=params, headers=api.as_(user))
            want = _expected(user, path, tenant)
            if resp.status_code != want:
                failures.append(
                    f"{user} GET {_fill(path, tenant, api)}: {resp.status_code} != {want}"
                )
            if resp.status_code >= 400:
                assert resp.headers["content-type"] == "application/problem+json"
    assert failures == []


@pytest.mark.parametrize(
    ("user", "codes"),
    [
        ("admin", [ENT_A, ENT_B]),
        ("officer", [ENT_A, ENT_B]),
        ("ent_a", [ENT_A]),
        ("ent_b", [ENT_B]),
    ],
)
def test_lists_contain_only_the_callers_tenants(
    api: ApiHarness, user: str, codes: list[str]
) -> None:
    resp = api.client.get("/api/v1/enterprises", headers=api.as_(user))
    assert [e["code"] for e in resp.json()["items"]] == codes
    # a filter cannot widen the scope
    resp = api.client.get("/api/v1/enterprises", params={"town": "Jingwu"}, headers=api.as_(user))
    assert [e["code"] for e in resp.json()["items"]] == [c for c in codes if c == ENT_B]


REGISTRY_DOC = f"""
validate_check_digits: true
enterprises:
  - code: {ENT_B}
    name: Jingwu Cold Storage Ltd. (renamed)
    industry: G59
    town: Jingwu
    gateways: [{{code: gw-01}}]
    sites:
      - code: store-1
        meters:
          - {{code: B-1, carrier: electricity, points: [energy_import_kwh]}}
"""


@pytest.mark.parametrize(
    ("user", "status"),
    [
        (None, 401),
        ("officer", 403),
        ("ent_a", 403),
        ("ent_b", 403),
        ("gw_a", 403),
        ("admin", 200),
    ],
)
def test_only_admins_write_the_registry(api: ApiHarness, user: str | None, status: int) -> None:
    resp = api.client.post(
        "/api/v1/registry/apply",
        content=REGISTRY_DOC,
        headers={**api.as_(user), "Content-Type": "application/yaml"},
    )
    assert resp.status_code == status, resp.text
    name = api.client.get(f"/api/v1/enterprises/{ENT_B}", headers=api.as_("officer")).json()["name"]
    assert name.endswith("(renamed)") == (status == 200)


@pytest.mark.parametrize("user", ["admin", "officer", "ent_a", "ent_b"])
def test_only_gateways_push_readings(api: ApiHarness, user: str) -> None:
    resp = api.client.post("/api/v1/ingest/readings", json={"readings": []}, headers=api.as_(user))
    assert resp.status_code == 403


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("officer", 200),
        ("admin", 200),
        ("ent_a", 403),
        ("ent_b", 403),
        ("gw_a", 403),
    ],
)
def test_only_officers_act_on_alerts(api: ApiHarness, user: str, status: int) -> None:
    alert = api.alert_ids["A"]
    ack = api.client.post(
        f"/api/v1/alerts/{alert}/acknowledge", json={"comment": "on it"}, headers=api.as_(user)
    )
    assert ack.status_code == status
    if status == 200:
        assert ack.json()["state"] == "acknowledged"
        done = api.client.post(
            f"/api/v1/alerts/{alert}/resolve",
            json={"comment": "meter cable repaired"},
            headers=api.as_(user),
        )
        body = done.json()
        assert (body["state"], body["resolved_by"], body["resolution_comment"]) == (
            "resolved",
            user,
            "meter cable repaired",
        )
        assert [(e["actor"], e["action"]) for e in body["history"]] == [
            ("system", "opened"),
            (user, "acknowledged"),
            (user, "resolved"),
        ]
        again = api.client.post(
            f"/api/v1/alerts/{alert}/resolve", json={"comment": "x"}, headers=api.as_(user)
        )
        assert again.status_code == 409


def test_alert_lists_filter_and_stay_within_the_tenant(api: ApiHarness) -> None:
    mine = api.client.get("/api/v1/alerts", headers=api.as_("ent_b")).json()["items"]
    assert [a["enterprise"] for a in mine] == [ENT_B]
    assert mine[0]["opened_at"].endswith("+08:00")  # the configured zone, as everywhere
    everyone = api.client.get(
        "/api/v1/alerts",
        params={"type": "silent_meter", "state": ["open", "acknowledged"]},
        headers=api.as_("officer"),
    ).json()["items"]
    assert sorted(a["enterprise"] for a in everyone) == [ENT_A, ENT_B]
    assert (
        api.client.get(
            "/api/v1/alerts", params={"enterprise": ENT_A}, headers=api.as_("ent_b")
        ).json()["items"]
        == []
    )
    assert (
        api.client.get(
            "/api/v1/alerts", params={"severity": "critical"}, headers=api.as_("officer")
        ).json()["items"]
        == []
    )
    # a misspelt filter is an error, not an empty list
    for params in ({"type": "pue_over_limt"}, {"severity": "high"}, {"state": "closed"}):
        typo = api.client.get("/api/v1/alerts", params=params, headers=api.as_("officer"))
        assert typo.status_code == 422, params
        assert typo.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("user", "status"),
    [(None, 401), ("officer", 403), ("ent_b", 403), ("gw_a", 403), ("admin", 200)],
)
def test_only_admins_put_and_take_enterprises_out_of_service(
    api: ApiHarness, user: str | None, status: int
) -> None:
    doc = yaml.safe_load(REGISTRY_DOC)["enterprises"][0]
    put = api.client.put(f"/api/v1/registry/enterprises/{ENT_B}", json=doc, headers=api.as_(user))
    assert put.status_code == status, put.text
    gone = api.client.delete(f"/api/v1/registry/enterprises/{ENT_B}", headers=api.as_(user))
    assert gone.status_code == status, gone.text
    b = api.client.get(f"/api/v1/enterprises/{ENT_B}", headers=api.as_("officer")).json()
    assert b["active"] == (status != 200)  # out of service, its history still readable
    if status == 200:
        assert put.json()["changes"]["enterprises updated"] == 1
        assert gone.json()["changes"]["enterprises deactivated"] == 1
        assert gone.json()["changes"]["meters deactivated"] == 1
        again = api.client.delete(f"/api/v1/registry/enterprises/{ENT_B}", headers=api.as_(user))
        assert again.status_code == 404
        back = api.client.put(
            f"/api/v1/registry/enterprises/{ENT_B}", json=doc, headers=api.as_(user)
        )
        assert back.json()["changes"]["enterprises updated"] == 1
        wrong = api.client.put(
            f"/api/v1/registry/enterprises/{ENT_A}", json=doc, headers=api.as_(user)
        )
        assert wrong.status_code == 422
        assert wrong.headers["content-type"] == "application/problem+json"


def _last_month() -> str:
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


@pytest.mark.parametrize(
    ("user", "code", "status"),
    [
        (None, ENT_A, 401),
        ("gw_a", ENT_A, 403),
        ("ent_b", ENT_A, 404),  # another tenant's enterprise does not exist for it
        ("ent_a", ENT_A, 200),
        ("ent_b", ENT_B, 200),
        ("officer", ENT_B, 200),
        ("admin", ENT_A, 200),
    ],
)
def test_enterprises_write_their_own_production_and_officers_any(
    api: ApiHarness, user: str | None, code: str, status: int
) -> None:
    # the seeded district has no products: an economic row needs none
    row = {"period": _last_month(), "value_added_10k_cny": 830, "price_base_year": 2020}
    url = f"/api/v1/enterprises/{code}/production"
    resp = api.client.post(url, json=[row], headers=api.as_(user))
    assert resp.status_code == status, resp.text
    upload = api.client.post(
        f"{url}/upload",
        files={"file": ("p.json", b"[]", "application/json")},
        headers=api.as_(user),
    )
    assert upload.status_code == status, upload.text
    stored = api.client.get(url, headers=api.as_("officer")).json()
    assert len(stored) == (status == 200)


@pytest.mark.parametrize(
    ("user", "status"),
    [(None, 401), ("gw_a", 403), ("ent_a", 403), ("ent_b", 403), ("officer", 200), ("admin", 200)],
)
def test_only_officers_lock_and_unlock_production_months(
    api: ApiHarness, user: str | None, status: int
) -> None:
    url = f"/api/v1/enterprises/{ENT_A}/production/locks/{_last_month()}"
    locked = api.client.post(url, json={"reason": "reviewed"}, headers=api.as_(user))
    assert locked.status_code == status, locked.text
    if status != 200:
        api.client.post(url, json={"reason": "reviewed"}, headers=api.as_("officer"))
    unlocked = api.client.delete(url, params={"reason": "reopened"}, headers=api.as_(user))
    assert unlocked.status_code == status, unlocked.text


def test_an_enterprise_unknown_then_registered_is_found_and_stays_its_own(api: ApiHarness) -> None:
    """Enterprise ids are remembered once found (a request that only checks who may see an
    enterprise costs no round trip): an unknown code is not remembered as missing, and a
    remembered id still answers another tenant with 404."""
    code = ENT_B[:-4] + "7777"
    path = f"/api/v1/enterprises/{code}/consumption"
    window = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-02T00:00:00+08:00"}
    officer = api.as_("officer")
    assert api.client.get(path, params=window, headers=officer).status_code == 404
    doc = REGISTRY_DOC.replace("validate_check_digits: true", "validate_check_digits: false")
    applied = api.client.post(
        "/api/v1/registry/apply",
        content=doc.replace(ENT_B, code),
        headers={**api.as_("admin"), "Content-Type": "application/yaml"},
    )
    assert applied.status_code == 200, applied.text
    assert api.client.get(path, params=window, headers=officer).status_code == 200
    for tenant in ("ent_a", "ent_b"):  # after the officer's request found its id
        assert api.client.get(path, params=window, headers=api.as_(tenant)).status_code == 404
    mine = f"/api/v1/enterprises/{ENT_B}/consumption"
    assert api.client.get(mine, params=window, headers=api.as_("ent_b")).status_code == 200
    assert api.client.get(mine, params=window, headers=api.as_("ent_a")).status_code == 404
