"""Tokens: tampering, expiry, audience, key rotation; API keys; rate limits; problem shape."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from services.api.security import Principal, Role, issue_token
from services.api.users import create_api_key
from services.core.db import make_engine
from tests.integration.api.conftest import ApiHarness, api_settings


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _claims(api: ApiHarness, user: str) -> dict[str, object]:
    return dict(jwt.decode(api.tokens[user], options={"verify_signature": False}))


def _forged(api: ApiHarness, **changes: object) -> str:
    claims = {**_claims(api, "officer"), **changes}
    return jwt.encode(
        claims, "first-signing-key-for-the-test-suite", algorithm="HS256", headers={"kid": "k1"}
    )


def _status(api: ApiHarness, token: str) -> int:
    return api.client.get(
        "/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_a_valid_token_signed_with_an_older_rotation_key_still_works(api: ApiHarness) -> None:
    assert _status(api, _forged(api)) == 200
    assert jwt.get_unverified_header(api.tokens["officer"])["kid"] == "k2"  # newest key signs


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "wrong_key",
        "expired",
        "wrong_audience",
        "unknown_kid",
        "role_escalation",
        "garbage",
    ],
)
def test_tampered_or_stale_tokens_are_refused_with_401(api: ApiHarness, attack: str) -> None:
    now = datetime.now(UTC)
    if attack == "alg_none":
        token = (
            f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{_b64(_claims(api, 'officer'))}."
        )
    elif attack == "wrong_key":
        token = jwt.encode(
            _claims(api, "officer"), "x" * 40, algorithm="HS256", headers={"kid": "k1"}
        )
    elif attack == "expired":
        token = _forged(api, exp=int((now - timedelta(seconds=5)).timestamp()))
    elif attack == "wrong_audience":
        token = _forged(api, aud="another-api")
    elif attack == "unknown_kid":
        token = jwt.encode(
            _claims(api, "officer"),
            "first-signing-key-for-the-test-suite",
            algorithm="HS256",
            headers={"kid": "k9"},
        )
    elif attack == "role_escalation":  # payload edited, signature of the original kept
        head, _payload, sig = api.tokens["ent_a"].split(".")
        token = f"{head}.{_b64({**_claims(api, 'ent_a'), 'role': 'admin', 'ent': None})}.{sig}"
    else:
        token = "not-a-jwt"
    resp = api.client.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.json()["type"].endswith("/unauthorized")


def test_wrong_password_is_refused_and_a_machine_can_use_client_credentials(
    api: ApiHarness,
) -> None:
    bad = api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "officer", "password": "wrong password!"},
    )
    assert bad.status_code == 401
    ok = api.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "gw_a",
            "client_secret": "correct horse battery",
        },
    )
    assert ok.status_code == 200
    assert ok.json()["expires_in"] == api.settings.token_ttl_s


def test_api_keys_authenticate_until_revoked(api: ApiHarness) -> None:
    engine = make_engine(api.db)
    with engine.begin() as conn:
        key = create_api_key(conn, "officer", "monitoring wall")
    resp = api.client.get("/api/v1/me", headers={"X-API-Key": key})
    assert resp.json() == {
        "username": "officer",
        "role": "officer",
        "enterprise": None,
        "gateway": None,
    }
    assert api.client.get("/api/v1/me", headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401
    with engine.begin() as conn:
        from services.api.users import revoke_api_key

        assert revoke_api_key(conn, key.split("_")[1])
    assert api.client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401
    engine.dispose()


@pytest.mark.parametrize("api_overrides", [{"rate_limit_per_s": 0.5, "rate_limit_burst": 3}])
def test_a_credential_over_its_rate_gets_429_with_retry_after(api: ApiHarness) -> None:
    statuses = [
        api.client.get("/api/v1/me", headers=api.as_("ent_a")).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    resp = api.client.get("/api/v1/me", headers=api.as_("ent_a"))
    assert int(resp.headers["retry-after"]) >= 1
    assert (
        api.client.get("/api/v1/me", headers=api.as_("ent_b")).status_code == 200
    )  # per credential


def test_errors_are_problem_documents(api: ApiHarness) -> None:
    resp = api.client.get("/api/v1/enterprises", params={"limit": 0}, headers=api.as_("officer"))
    assert resp.status_code == 422
    body = resp.json()
    assert body["type"] == "https://energymon.dev/problems/validation-error"
    assert body["status"] == 422
    assert body["errors"][0]["loc"] == ["query", "limit"]
    resp = api.client.get("/api/v1/enterprises", params={"limit": 5000}, headers=api.as_("officer"))
    assert (resp.status_code, resp.json()["type"]) == (400, "https://energymon.dev/problems/limit")
    big = api.client.post(
        "/api/v1/ingest/readings",
        content=b"x" * (2 << 20),
        headers={**api.as_("gw_a"), "Content-Type": "application/json"},
    )
    assert big.status_code == 413


def test_nul_characters_are_refused_before_any_query(api: ApiHarness) -> None:
    resp = api.client.get("/api/v1/alerts?subject=a%00b", headers=api.as_("officer"))
    assert resp.status_code == 400
    assert resp.json()["type"] == "https://energymon.dev/problems/invalid-parameter"
    assert resp.headers["content-type"] == "application/problem+json"


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{"):
            pairs = line[len(name) + 1 : line.rindex("}")].split(",")
            if dict(p.replace('"', "").split("=", 1) for p in pairs) == labels:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template_method_and_status(api: ApiHarness) -> None:
    alert = api.alert_ids["A"]
    for user, expected in (("officer", 200), ("ent_b", 404), ("ent_a", 200)):
        resp = api.client.get(f"/api/v1/alerts/{alert}", headers=api.as_(user))
        assert resp.status_code == expected
    api.client.post("/api/v1/ingest/readings", content=b"x" * (2 << 20))  # 413 before routing
    text = api.client.get("/metrics").text
    route = {"route": "/api/v1/alerts/{alert_id}", "method": "GET"}
    name = "energymon_api_requests_total"
    assert _sample(text, name, **route, status="200") == 2
    assert _sample(text, name, **route, status="404") == 1
    assert _sample(text, name, route="unmatched", method="POST", status="413") == 1
    assert _sample(text, "energymon_api_request_seconds_count", **route) == 3
    assert f"/api/v1/alerts/{alert}" not in text  # templates, never raw paths


def test_token_issued_in_process_matches_what_the_server_accepts(api: ApiHarness) -> None:
    token = issue_token(Principal(1, "admin", Role.ADMIN), api_settings())
    resp = httpx.get(f"{api.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
