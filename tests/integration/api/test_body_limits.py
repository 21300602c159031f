"""ENERGYMON_API_MAX_BODY_BYTES holds for streamed (chunked) bodies as for declared ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import ApiHarness
from tests.integration.api.test_auth import _sample

MIB = 1 << 20
INGEST = "/api/v1/ingest/readings"


def _chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body as a generator: httpx sends it with ``Transfer-Encoding: chunked``."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


def _payload(total_bytes: int) -> bytes:
    """A valid one-reading ingest payload, padded with JSON whitespace to ``total_bytes``."""
    ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    reading = {"meter": "M-100", "point": "energy_import_kwh", "ts": ts, "value": 10.5}
    doc = json.dumps({"seq": 7, "readings": [reading]}).encode()
    return doc[:-1] + b" " * (total_bytes - len(doc)) + doc[-1:]


def _stored(db: DatabaseSettings) -> tuple[int, int]:
    """(readings, dead letters) in the database."""
    with psycopg.connect(db.libpq_url) as conn:
        readings = conn.execute("SELECT count(*) FROM readings").fetchone()
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    return readings[0], dead[0]  # type: ignore[index]


def _ingest(api: ApiHarness, body: bytes, *, chunked: bool = True) -> httpx.Response:
    return api.client.post(
        INGEST,
        content=_chunked(body) if chunked else body,
        headers={**api.as_("gw_a"), "Content-Type": "application/json"},
    )


def _assert_payload_too_large(resp: httpx.Response, limit: int, path: str) -> None:
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["connection"] == "close"  # the rest of the body is never read
    assert resp.json() == {
        "type": "https://energymon.dev/problems/payload-too-large",
        "title": "payload too large",
        "status": 413,
        "detail": f"bodies are limited to {limit} bytes",
        "instance": path,
    }


def test_a_chunked_8_mib_ingest_body_is_refused_and_nothing_is_stored(api: ApiHarness) -> None:
    resp = _ingest(api, _payload(8 * MIB))
    _assert_payload_too_large(resp, api.settings.max_body_bytes, INGEST)
    assert _stored(api.db) == (0, 0)  # not even a dead letter: the pipeline never saw it
    text = api.client.get("/metrics").text
    name = "energymon_api_requests_total"
    assert _sample(text, name, route=INGEST, method="POST", status="413") == 1
    assert _sample(text, name, route=INGEST, method="POST", status="500") == 0
    accepted = _ingest(api, _payload(100 * 1024))  # the server goes on serving
    assert (accepted.status_code, accepted.json()["accepted"]) == (202, 1)


@pytest.mark.parametrize("api_overrides", [{"max_body_bytes": 65536}])
def test_a_chunked_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not(
    api: ApiHarness,
) -> None:
    resp = _ingest(api, _payload(65536))
    assert resp.status_code == 202, resp.text
    assert resp.json()["accepted"] == 1
    assert _stored(api.db) == (1, 0)
    _assert_payload_too_large(_ingest(api, _payload(65537)), 65536, INGEST)
    assert _stored(api.db) == (1, 0)


def test_a_declared_content_length_over_the_limit_is_refused_before_routing(
    api: ApiHarness,
) -> None:
    resp = _ingest(api, _payload(api.settings.max_body_bytes + 1), chunked=False)
    _assert_payload_too_large(resp, api.settings.max_body_bytes, INGEST)
    assert _stored(api.db) == (0, 0)
    text = api.client.get("/metrics").text
    refused = {"route": "unmatched", "method": "POST", "status": "413"}
    assert _sample(text, "energymon_api_requests_total", **refused) == 1


def _multipart(filler: bytes) -> bytes:
    return (
        b'--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\npassword\r\n'
        b'--b\r\nContent-Disposition: form-data; name="upload"; filename="x.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + filler + b"\r\n--b--\r\n"
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/x-www-form-urlencoded",
            b"grant_type=password&username=officer&password=" + b"x" * (2 * MIB),
        ),
        ("multipart/form-data; boundary=b", _multipart(b"\0" * (2 * MIB))),
    ],
    ids=["urlencoded", "multipart-upload"],
)
def test_a_chunked_form_over_the_limit_is_refused_with_413(
    api: ApiHarness, content_type: str, body: bytes
) -> None:
    resp = api.client.post(
        "/api/v1/auth/token", content=_chunked(body), headers={"Content-Type": content_type}
    )
    _assert_payload_too_large(resp, api.settings.max_body_bytes, "/api/v1/auth/token")


def test_a_chunked_registry_document_over_the_limit_is_refused_with_413(api: ApiHarness) -> None:
    body = b"enterprises: []\n" + b"# padding\n" * (MIB // 5)
    resp = api.client.post(
        "/api/v1/registry/apply",
        content=_chunked(body),
        headers={**api.as_("admin"), "Content-Type": "application/yaml"},
    )
    _assert_payload_too_large(resp, api.settings.max_body_bytes, "/api/v1/registry/apply")
