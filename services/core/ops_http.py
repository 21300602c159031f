"""A small HTTP server for /metrics, /healthz and /readyz (ingest, alerts, accounting); the API has
its own."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from services.core.errors import PortInUseError


class OpsServer:
    """Serves ``registry`` on /metrics; /readyz answers 503 while ``ready()`` is false. With
    ``role`` (e.g. ``active`` or ``standby`` of a leader-elected service) the /readyz body names
    it: ``ready: active``."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        ready: Callable[[], bool],
        role: Callable[[], str] | None = None,
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(outer.registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif path == "/readyz":
                    ok = outer.ready()
                    text = "ready" if ok else "not ready"
                    if outer.role is not None:
                        text += f": {outer.role()}"
                    self._send(200 if ok else 503, f"{text}\n".encode(), "text/plain")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds would drown the log

        self.registry = registry
        self.ready = ready
        self.role = role
        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port) from err
            raise
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="ops-http"
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
