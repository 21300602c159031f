"""A cursor the API did not hand out is a 400 problem on every paged list, never a 500: a
decodable cursor carrying the wrong kind of key (text for an id, a number for a code, a date
without a zone, an id beyond bigint) included."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A

READINGS = f"/api/v1/enterprises/{ENT_A}/meters/M-100/points/energy_import_kwh/readings"
WINDOW = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-02T00:00:00+08:00"}


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v1/alerts", "abc"),
        ("/api/v1/alerts", 2**70),
        ("/api/v1/alerts", [1, 2]),
        ("/api/v1/alerts", True),
        ("/api/v1/enterprises", 42),
        ("/api/v1/enterprises", {"code": "x"}),
        (READINGS, "yesterday"),
        (READINGS, "2026-11-01T00:00:00"),
        (READINGS, 1700000000),
    ],
)
def test_a_cursor_with_the_wrong_kind_of_key_is_a_400(
    api: ApiHarness, path: str, key: object
) -> None:
    params = {"cursor": _cursor(key), **(WINDOW if path == READINGS else {})}
    resp = api.client.get(path, params=params, headers=api.as_("admin"))
    assert resp.status_code == 400, resp.text
    assert resp.json()["title"] == "invalid cursor"


def test_the_cursors_the_api_hands_out_still_page_through(api: ApiHarness) -> None:
    first = api.client.get("/api/v1/enterprises", params={"limit": 1}, headers=api.as_("admin"))
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    second = api.client.get(
        "/api/v1/enterprises", params={"limit": 1, "cursor": cursor}, headers=api.as_("admin")
    )
    assert second.status_code == 200, second.text
    assert second.json()["items"][0]["code"] != first.json()["items"][0]["code"]
