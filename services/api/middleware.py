"""The ASGI middleware every HTTP request passes first: request limits, request metrics."""

from __future__ import annotations

import time

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.context import ApiMetrics
from services.api.problems import problem_response
from services.core.logging import get_logger

log = get_logger(__name__)


class BodyTooLarge(Exception):  # noqa: N818 - a signal to the app, answered by the middleware
    """What ``receive`` raises to the app once the request body has passed the limit."""


class LimitsAndMetrics:
    """Refuses bodies over ``max_body_bytes`` and NUL characters; counts and times every request
    by route template and status. Plain ASGI (Starlette's ``BaseHTTPMiddleware`` costs a task and
    a stream per request).

    A declared ``Content-Length`` over the limit is refused before routing. Any other body is
    counted as it arrives: once past the limit nothing more is read, the app's ``receive`` raises
    ``BodyTooLarge`` and whatever the app answers to that is replaced by the 413, so the route
    never gets the body and no 500 escapes. Both 413s carry ``Connection: close``, since the rest
    of the body stays unread. A refused body is counted as a 413, by route template once routed.
    If the app had already started its answer, the 413 cannot be sent: the answer is left
    incomplete, so the server closes the connection rather than pass a cut answer off as whole.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: ApiMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            self._count(scope, refusal.status_code, start)
            return
        exchange = _Exchange(receive, send, self.max_body_bytes)
        try:
            try:
                await self.app(scope, exchange.receive, exchange.send)
            except Exception:
                if not exchange.overflowed:
                    raise
                # the app's reaction to the refused body (FastAPI turns it into a 400, a route
                # lets it escape): answered by the 413 below
            if exchange.overflowed:
                await self._too_large(scope, exchange, send)
        finally:
            self._count(scope, exchange.status, start)

    def _refusal(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return self._payload_too_large(path)
        if b"%00" in scope.get("query_string", b"") or "\x00" in path:
            # PostgreSQL text cannot hold NUL; refuse it before it reaches a query
            return problem_response(
                400, "invalid-parameter", "NUL characters are not allowed", path
            )
        return None

    async def _too_large(self, scope: Scope, exchange: _Exchange, send: Send) -> None:
        exchange.status = 413
        if not exchange.started:
            await self._payload_too_large(scope["path"])(scope, exchange.receive, send)
        elif not exchange.complete:
            log.warning(
                "request body over the limit after the answer started; connection closed",
                path=scope["path"],
                max_body_bytes=self.max_body_bytes,
            )

    def _payload_too_large(self, path: str) -> Response:
        return problem_response(
            413,
            "payload-too-large",
            f"bodies are limited to {self.max_body_bytes} bytes",
            path,
            headers={"Connection": "close"},
        )

    def _count(self, scope: Scope, status: int, start: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        method = scope["method"]
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route, method).observe(time.perf_counter() - start)


class _Exchange:
    """One request's ``receive`` and ``send`` as the app sees them: counts the body as it
    arrives, remembers the answer's status, and once the body is over the limit reads no more
    and holds back the app's answer."""

    __slots__ = ("_left", "_receive", "_send", "complete", "overflowed", "started", "status")

    def __init__(self, receive: Receive, send: Send, max_body_bytes: int) -> None:
        self._receive = receive
        self._send = send
        self._left = max_body_bytes
        self.overflowed = False
        self.started = False  # the answer's status line has gone out
        self.complete = False
        self.status = 500  # until the app starts an answer

    async def receive(self) -> Message:
        if self.overflowed:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self._left -= len(message.get("body", b""))
            if self._left < 0:
                self.overflowed = True
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.overflowed and not self.started:
            return
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True
        await self._send(message)
