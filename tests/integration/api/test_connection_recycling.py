"""ENERGYMON_API_KEEPALIVE_REQUESTS: every Nth answer on a keep-alive connection closes it, the
answer itself whole, and an HTTP/1.1 client carries on over a new connection."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

from tests.integration.api.conftest import ApiHarness


def _exchanges(api: ApiHarness, n: int) -> list[tuple[int, int, str | None]]:
    """``n`` requests through one ``http.client`` connection object (it connects again by itself
    after an answer that closed): each one's status, the local port it went out on, and the
    answer's ``Connection`` header."""
    url = urllib.parse.urlsplit(api.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    seen = []
    try:
        for _ in range(n):
            conn.request("GET", "/healthz")
            assert conn.sock is not None
            port = conn.sock.getsockname()[1]
            resp = conn.getresponse()
            assert resp.read() == b"ok\n"  # the closing answer is whole too
            seen.append((resp.status, port, resp.getheader("connection")))
    finally:
        conn.close()
    return seen


@pytest.mark.parametrize("api_overrides", [{"keepalive_requests": 5}])
def test_every_fifth_answer_closes_its_connection_and_the_client_goes_on(
    api: ApiHarness,
) -> None:
    seen = _exchanges(api, 12)
    assert [status for status, _, _ in seen] == [200] * 12
    closing = [i + 1 for i, (_, _, connection) in enumerate(seen) if connection == "close"]
    assert closing == [5, 10]
    ports = [port for _, port, _ in seen]
    assert ports[0:5] == [ports[0]] * 5
    assert ports[5:10] == [ports[5]] * 5
    assert ports[10:12] == [ports[10]] * 2
    assert len({ports[0], ports[5], ports[10]}) == 3  # three connections, one after another


@pytest.mark.parametrize("api_overrides", [{"keepalive_requests": 0}])
def test_zero_keeps_a_connection_for_as_long_as_the_client_does(api: ApiHarness) -> None:
    seen = _exchanges(api, 150)
    assert {(status, connection) for status, _, connection in seen} == {(200, None)}
    assert len({port for _, port, _ in seen}) == 1


@pytest.mark.parametrize("api_overrides", [{"keepalive_requests": 100}])
def test_connections_are_counted_apart(api: ApiHarness) -> None:
    """Two clients interleaved: each connection's count is its own, so neither closes before
    its own 100th answer."""
    url = urllib.parse.urlsplit(api.url)
    a = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    b = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    answers: dict[str, list[str | None]] = {"a": [], "b": []}
    try:
        for _ in range(100):
            for name, conn in (("a", a), ("b", b)):
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                answers[name].append(resp.getheader("connection"))
    finally:
        a.close()
        b.close()
    for name in ("a", "b"):
        assert answers[name][:99] == [None] * 99
        assert answers[name][99] == "close"
