"""The freshness indication: a header (and a last member in JSON objects) on figure answers while
the rollups are late by more than the threshold, every other byte unchanged; the lag read at most
once per cache period."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Response

from services.api.freshness import (
    FIELD,
    FIGURE_ROUTES,
    HEADER,
    Freshness,
    RollupLag,
    document,
    with_member,
)

MEMBER = b'"freshness":{"rollups_behind_s":9}'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a":1}', b'{"a":1,"freshness":{"rollups_behind_s":9}}'),
        (b'{"a": {"b": [1, 2]}}\n', b'{"a": {"b": [1, 2]},"freshness":{"rollups_behind_s":9}}\n'),
        (b"{}", b'{"freshness":{"rollups_behind_s":9}}'),
        (b" { } ", b' { "freshness":{"rollups_behind_s":9}} '),
    ],
)
def test_the_member_is_added_last_and_every_other_byte_kept(body: bytes, expected: bytes) -> None:
    extended = with_member(body, MEMBER)
    assert extended == expected
    assert json.loads(extended)[FIELD] == {"rollups_behind_s": 9}


@pytest.mark.parametrize("body", [b"[1,2]", b"[]", b"", b'"text"', b"12", b"{"])
def test_anything_but_an_object_is_left_alone(body: bytes) -> None:
    assert with_member(body, MEMBER) is None


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_lag_is_read_at_most_once_per_cache_period_and_ages_in_between() -> None:
    clock, reads = Clock(), []

    def read() -> float | None:
        reads.append(clock.t)
        return 30.0

    lag = RollupLag(read, ttl_s=2.0, clock=clock)
    assert lag.peek() == (False, None)  # never read: a read is due
    assert lag.current() == 30.0
    clock.t += 1.5
    assert lag.peek() == (True, 31.5)  # the pending data kept ageing
    assert lag.current() == 31.5
    assert reads == [100.0]
    clock.t += 0.5
    assert lag.peek() == (False, None)
    assert lag.current() == 30.0  # read again
    assert reads == [100.0, 102.0]


def test_nothing_pending_stays_nothing_until_the_next_read() -> None:
    clock = Clock()
    lag = RollupLag(lambda: None, ttl_s=2.0, clock=clock)
    assert lag.current() is None
    clock.t += 1.9
    assert lag.peek() == (True, None)


def test_a_failed_read_counts_as_unknown_until_the_next_is_due() -> None:
    clock, calls = Clock(), []

    def read() -> float | None:
        calls.append(clock.t)
        raise OSError("database unreachable")

    lag = RollupLag(read, ttl_s=2.0, clock=clock)
    assert lag.current() is None
    assert lag.current() is None
    assert len(calls) == 1  # not hammered
    clock.t += 2.0
    assert lag.current() is None
    assert len(calls) == 2


OBJECT = {"scope": "district", "total_tce": 1.5, "carriers": []}
SERIES = [{"period": "2026-11-17T00:00:00+08:00", "amount": 2.5}]


def _app(behind: float | None, threshold_s: float = 60.0) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/district/energy")
    def energy() -> dict[str, Any]:
        return OBJECT

    @app.get("/api/v1/district/consumption")
    def consumption() -> Response:
        return Response(orjson.dumps(SERIES), media_type="application/json")

    @app.get("/api/v1/reports/district/monthly")
    def report() -> Response:
        return Response(b"section,c1\n", media_type="text/csv")

    @app.get("/api/v1/enterprises")
    def enterprises() -> dict[str, Any]:
        return {"items": [], "next_cursor": None}

    app.add_middleware(Freshness, lag=RollupLag(lambda: behind), threshold_s=threshold_s)
    document(app, threshold_s)
    return app


class Client:
    """Requests straight into the ASGI app (no server, no network)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str) -> httpx.Response:
        async def request() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.get(path)

        return asyncio.run(request())


@pytest.fixture
def late() -> Client:
    return Client(_app(behind=742.4))


def test_figure_answers_say_how_late_their_rollups_are(late: Client) -> None:
    resp = late.get("/api/v1/district/energy")
    assert resp.headers[HEADER] == "742"
    assert resp.json() == {**OBJECT, FIELD: {"rollups_behind_s": 742, "lag_threshold_s": 60.0}}
    assert int(resp.headers["content-length"]) == len(resp.content)
    series = late.get("/api/v1/district/consumption")
    assert series.headers[HEADER] == "742"
    assert series.content == orjson.dumps(SERIES)  # an array: the header only
    csv = late.get("/api/v1/reports/district/monthly")
    assert (csv.headers[HEADER], csv.content) == ("742", b"section,c1\n")


def test_answers_without_figures_never_carry_it(late: Client) -> None:
    resp = late.get("/api/v1/enterprises")
    assert HEADER not in resp.headers
    assert resp.json() == {"items": [], "next_cursor": None}
    assert HEADER not in late.get("/api/v1/district/nothing-here").headers  # a 404


@pytest.mark.parametrize("behind", [None, 0.0, 59.0])
def test_answers_within_the_threshold_are_byte_for_byte_unchanged(behind: float | None) -> None:
    client = Client(_app(behind))
    energy = client.get("/api/v1/district/energy")
    series = client.get("/api/v1/district/consumption")
    assert HEADER not in energy.headers
    assert HEADER not in series.headers
    assert energy.content == json.dumps(OBJECT, separators=(",", ":")).encode()
    assert series.content == orjson.dumps(SERIES)


def test_the_openapi_document_describes_the_header_and_the_member() -> None:
    doc = Client(_app(None)).get("/openapi.json").json()
    ok = doc["paths"]["/api/v1/district/energy"]["get"]["responses"]["200"]
    assert ok["headers"][HEADER]["schema"] == {"type": "integer"}
    assert "headers" not in doc["paths"]["/api/v1/enterprises"]["get"]["responses"]["200"]
    freshness = doc["components"]["schemas"]["Freshness"]
    assert set(freshness["required"]) == {"rollups_behind_s", "lag_threshold_s"}


def test_every_figure_route_is_under_the_api_prefix() -> None:
    assert all(path.startswith("/api/v1/") for path in FIGURE_ROUTES)
