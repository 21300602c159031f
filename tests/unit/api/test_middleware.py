"""LimitsAndMetrics at the ASGI level: streamed bodies over the limit, answers already started."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry
from starlette.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from services.api.context import ApiMetrics
from services.api.middleware import BodyTooLarge, LimitsAndMetrics

LIMIT = 1024
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Client:
    """A request's side of the exchange: body chunks to hand out, messages sent back."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.reads = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.reads += 1
        if self.reads > len(self.chunks):
            return {"type": "http.disconnect"}
        more = self.reads < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.reads - 1], "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        return next((m["status"] for m in self.sent if m["type"] == "http.response.start"), None)

    @property
    def headers(self) -> dict[bytes, bytes]:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"])


def _scope(headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/ingest/readings",
        "query_string": b"",
        "headers": headers or [(b"transfer-encoding", b"chunked")],
    }


def _run(app: App, client: Client, scope: Scope | None = None) -> ApiMetrics:
    metrics = ApiMetrics(CollectorRegistry())
    middleware = LimitsAndMetrics(app, max_body_bytes=LIMIT, metrics=metrics)
    asyncio.run(middleware(scope or _scope(), client.receive, client.send))
    return metrics


def _count(metrics: ApiMetrics, status: str) -> float:
    value = metrics.registry.get_sample_value(
        "energymon_api_requests_total",
        {"route": "unmatched", "method": "POST", "status": status},
    )
    return value or 0.0


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, then answers 200 with its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def test_a_body_within_the_limit_passes_untouched() -> None:
    client = Client([b"x" * 512, b"x" * 512])  # exactly the limit
    metrics = _run(_echo, client)
    assert client.status == 200
    assert client.sent[-1]["body"] == b"1024"
    assert _count(metrics, "200") == 1


def test_a_streamed_body_over_the_limit_is_answered_413_and_read_no_further() -> None:
    client = Client([b"x" * 600, b"x" * 600, b"x" * 600, b"x" * 600])
    metrics = _run(_echo, client)
    assert client.reads == 2  # the chunk that crossed the limit is the last one read
    assert client.status == 413
    assert client.headers[b"connection"] == b"close"
    body = json.loads(client.sent[-1]["body"])
    assert body["type"] == "https://energymon.dev/problems/payload-too-large"
    assert body["detail"] == f"bodies are limited to {LIMIT} bytes"
    assert _count(metrics, "413") == 1
    assert _count(metrics, "500") == 0


def test_whatever_the_app_answers_to_the_refused_body_is_replaced_by_the_413() -> None:
    async def forgiving(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await _echo(scope, receive, send)
        except BodyTooLarge:  # e.g. FastAPI's "There was an error parsing the body"
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b"bad body"})

    client = Client([b"x" * 2000])
    _run(forgiving, client)
    assert [m.get("status") for m in client.sent if m["type"] == "http.response.start"] == [413]
    assert b"bad body" not in b"".join(m.get("body", b"") for m in client.sent)


def test_reading_again_after_the_refusal_raises_without_reading() -> None:
    reads_after: list[int] = []

    async def read_all(receive: Receive) -> None:
        while True:
            await receive()

    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(3):
            with pytest.raises(BodyTooLarge):
                await read_all(receive)
            reads_after.append(client.reads)

    client = Client([b"x" * 2000, b"x" * 10])
    _run(stubborn, client)
    assert reads_after == [1, 1, 1]
    assert client.status == 413


def test_an_answer_already_started_is_left_incomplete_so_the_server_closes_the_connection() -> None:
    async def early(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await _echo(scope, receive, send)  # raises BodyTooLarge while reading

    client = Client([b"x" * 600, b"x" * 600, b"x" * 600])
    with capture_logs() as logs:
        metrics = _run(early, client)  # neither a 500 nor an exception for the server
    assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]
    assert client.sent[-1]["more_body"] is True  # incomplete: never passed off as whole
    assert _count(metrics, "413") == 1
    assert [e["event"] for e in logs] == [
        "request body over the limit after the answer started; connection closed"
    ]


def test_an_error_unrelated_to_the_body_still_propagates_and_counts_as_500() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("bug")

    client = Client([b"{}"])
    metrics = ApiMetrics(CollectorRegistry())
    middleware = LimitsAndMetrics(broken, max_body_bytes=LIMIT, metrics=metrics)
    with pytest.raises(RuntimeError):
        asyncio.run(middleware(_scope(), client.receive, client.send))
    assert _count(metrics, "500") == 1


def test_a_declared_length_over_the_limit_is_refused_without_calling_the_app() -> None:
    called: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append(True)

    client = Client([])
    metrics = _run(app, client, _scope([(b"content-length", str(LIMIT + 1).encode())]))
    assert called == []
    assert client.reads == 0
    assert (client.status, client.headers[b"connection"]) == (413, b"close")
    assert _count(metrics, "413") == 1
