"""Keep-alive connections handed back after a number of requests, so that no spread of
long-lived clients over the API's worker processes (or replicas) lasts.

The workers share one listening socket and a connection belongs to the worker that accepted it
for as long as it lives. A burst of clients opened together (a dashboard's panels, a proxy's
upstream pool, a benchmark) is accepted by whichever worker woke first and stays there: measured
with 16 keep-alive clients on 4 workers, 15/1/0/0. Answering every Nth request on a connection
with ``Connection: close`` makes its client connect again and land anew; where it lands is still
the kernel's choice (measured: 6/5/3/2 typical for 16 clients on 4 workers, not an even spread),
and behind a TCP load balancer new replicas get a share of long-lived clients. HTTP/1.1 clients
reconnect by themselves (RFC 9112 §9.6); the request that carried the close was answered in full.
The cost is one TCP handshake every N requests.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Connections that closed on their own before their Nth request leave their count behind; past
# this many the longest-idle count is forgotten.
_REMEMBERED = 65536


class ConnectionRecycling:
    """Every ``requests``-th answer on a connection (told apart by the client's address and
    port, as the server saw them) carries ``Connection: close``; 0 never closes one."""

    def __init__(self, app: ASGIApp, requests: int) -> None:
        self.app = app
        self.requests = requests
        self._served: dict[tuple[object, object], int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or self.requests == 0 or client is None:
            await self.app(scope, receive, send)
            return
        if not self._last_on_connection((tuple(client), tuple(scope.get("server") or ()))):
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"connection" for name, _ in headers):
                    headers.append((b"connection", b"close"))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, closing)

    def _last_on_connection(self, key: tuple[object, object]) -> bool:
        served = self._served.pop(key, 0) + 1
        if served >= self.requests:
            return True
        if len(self._served) >= _REMEMBERED:
            del self._served[next(iter(self._served))]  # counts are kept in order of last use
        self._served[key] = served
        return False
