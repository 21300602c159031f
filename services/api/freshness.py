"""Answers with figures say when the rollups behind them are late.

Every figure — consumption, tce and CO2, PUE, budgets, demand — is read from the rollups the
accounting service keeps current. When the oldest range of new readings it has not rolled up yet
is older than ``ENERGYMON_ACCOUNTING_LAG_THRESHOLD_S``, a successful answer of a figure route
(:data:`FIGURE_ROUTES`) carries ``X-Energymon-Rollups-Behind-S: <whole seconds>``, and a JSON
object answer also gains a last member ``"freshness": {"rollups_behind_s": ...,
"lag_threshold_s": ...}``. Nothing else changes: while the rollups are current every answer is
byte for byte what it was, and a late one keeps every byte of its document before the added
member; arrays (consumption series, rankings) have no envelope to extend and carry the header
only. The lag is read at most once every :data:`LAG_CACHE_S` per process (one index probe) and
grows with the time since between reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core.logging import get_logger
from services.core.store.freshness import LagSeen, rollup_lag_s

log = get_logger(__name__)

HEADER = "X-Energymon-Rollups-Behind-S"
FIELD = "freshness"
LAG_CACHE_S = 2.0

# The routes whose answers are figures from the rollups (a test keeps every GET route classified)
FIGURE_ROUTES = frozenset(
    "/api/v1" + path
    for path in (
        "/enterprises/{code}/consumption",
        "/enterprises/{code}/meters/{meter}/consumption",
        "/towns/{town}/consumption",
        "/district/consumption",
        "/enterprises/{code}/energy",
        "/enterprises/{code}/energy/periods",
        "/towns/{town}/energy",
        "/district/energy",
        "/enterprises/{code}/sites/{site}/pue",
        "/data-centres/pue-ranking",
        "/budgets/status",
        "/enterprises/{code}/peak-demand",
        "/demand-response/events/{event_id}/results",
        "/reports/enterprises/{code}/monthly",
        "/reports/district/monthly",
        "/quality/enterprises/{code}",
        "/quality/district",
        "/enterprises/{code}/intensity",
        "/district/intensity",
        "/district/intensity/ranking",
        "/district/quota-violations",
    )
)


class FreshnessOut(BaseModel):
    """Present only while the rollups are behind by more than the threshold."""

    model_config = ConfigDict(
        title="Freshness",
        json_schema_extra={"examples": [{"rollups_behind_s": 742, "lag_threshold_s": 300.0}]},
    )

    rollups_behind_s: int = Field(
        description="Age in seconds of the oldest new readings the figures do not count yet"
    )
    lag_threshold_s: float = Field(
        description="ENERGYMON_ACCOUNTING_LAG_THRESHOLD_S: answers say so beyond this"
    )


class RollupLag:
    """The rollup lag of this process's answers, read at most every ``ttl_s`` by one thread at a
    time. A failed read counts as unknown (no indication) until the next one is due."""

    def __init__(
        self,
        read: Callable[[], float | None],
        *,
        ttl_s: float = LAG_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl_s = ttl_s
        self._clock = clock
        self._seen: LagSeen | None = None  # a failed read: LagSeen(None, when it failed)
        self._lock = threading.Lock()

    def peek(self) -> tuple[bool, float | None]:
        """Without waiting: (True, the lag now) from a recent read, or (False, None) when a read
        is due (then call :meth:`current`, off the event loop)."""
        seen, now = self._seen, self._clock()
        if seen is None or now - seen.at >= self._ttl_s:
            return False, None
        return True, seen.lag_now(now)

    def current(self) -> float | None:
        """The lag now in seconds (None: nothing pending, or unknown), read when due."""
        with self._lock:  # one reader; the others wait for it and take its value
            recent, lag = self.peek()
            if recent:
                return lag
            try:
                self._seen = LagSeen(self._read(), self._clock())
            except Exception as err:  # noqa: BLE001 - an answer must not fail for its indication
                log.warning("cannot read the rollup lag", error=str(err))
                self._seen = LagSeen(None, self._clock())
            return self._seen.lag_now(self._clock())


def with_member(body: bytes, member: bytes) -> bytes | None:
    """``body``, a JSON object, with ``member`` (``"name":value``) added as its last member, every
    other byte kept; None when ``body`` is not an object."""
    end = len(body.rstrip())
    if not body.lstrip().startswith(b"{") or body[end - 1 : end] != b"}":
        return None
    inner = body[: end - 1].lstrip()[1:].strip()
    separator = b"," if inner else b""
    return body[: end - 1] + separator + member + b"}" + body[end:]


class Freshness:
    """ASGI middleware: the header (and the member) on figure answers while rollups are late."""

    def __init__(self, app: ASGIApp, lag: RollupLag, threshold_s: float) -> None:
        self.app = app
        self.lag = lag
        self.threshold_s = threshold_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Answer(self, scope, send).send)

    async def behind(self, scope: Scope, status: int) -> float | None:
        """Seconds behind when this answer must say so, else None."""
        route = getattr(scope.get("route"), "path", None)
        if status != 200 or route not in FIGURE_ROUTES:
            return None
        recent, lag = self.lag.peek()
        if not recent:
            lag = await run_in_threadpool(self.lag.current)
        return lag if lag is not None and lag > self.threshold_s else None

    def member(self, behind: float) -> bytes:
        value = {"rollups_behind_s": int(behind), "lag_threshold_s": self.threshold_s}
        return b'"' + FIELD.encode() + b'":' + orjson.dumps(value)


class _Answer:
    """One answer on its way out: passed through, or, when a JSON answer gets the member, held
    back until its body is complete."""

    __slots__ = ("_behind", "_chunks", "_outer", "_scope", "_send", "_start")

    def __init__(self, outer: Freshness, scope: Scope, send: Send) -> None:
        self._outer = outer
        self._scope = scope
        self._send = send
        self._start: Message | None = None
        self._behind = 0.0
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            behind = await self._outer.behind(self._scope, message["status"])
            if behind is not None:
                headers = MutableHeaders(raw=list(message["headers"]))
                headers[HEADER] = str(int(behind))
                message = {**message, "headers": headers.raw}
                if headers.get("content-type", "").startswith("application/json"):
                    self._start, self._behind = message, behind  # its length changes
                    return
            await self._send(message)
        elif self._start is not None and message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._flush(self._start)
        else:
            await self._send(message)

    async def _flush(self, start: Message) -> None:
        body = b"".join(self._chunks)
        extended = with_member(body, self._outer.member(self._behind))
        if extended is not None:
            body = extended
            headers = MutableHeaders(raw=list(start["headers"]))
            headers["content-length"] = str(len(body))
            start = {**start, "headers": headers.raw}
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


def document(app: FastAPI, threshold_s: float) -> None:
    """Describe the header and the member in the app's OpenAPI document (figure routes only)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        _describe(schema, threshold_s)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe(schema: dict[str, Any], threshold_s: float) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Freshness"] = FreshnessOut.model_json_schema()
    header = {
        "description": "Present only while the rollups behind the figures are late by more "
        f"than ENERGYMON_ACCOUNTING_LAG_THRESHOLD_S ({threshold_s:g} s here): how many seconds "
        "(the age of the oldest readings not counted yet)",
        "schema": {"type": "integer"},
    }
    prefix = "#/components/schemas/"
    for path, item in schema.get("paths", {}).items():
        ok = item.get("get", {}).get("responses", {}).get("200") if path in FIGURE_ROUTES else None
        if ok is None:
            continue
        ok.setdefault("headers", {})[HEADER] = header
        ref = ok.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        target = components.get(ref.removeprefix(prefix)) if ref.startswith(prefix) else None
        if target is not None and "properties" in target:
            target["properties"][FIELD] = {
                "$ref": f"{prefix}Freshness",
                "description": "Only while the rollups are late (see the "
                f"{HEADER} header); absent otherwise",
            }


def install(app: FastAPI, engine: Engine, threshold_s: float) -> None:
    """The middleware, reading the lag through ``engine``, and its OpenAPI description."""

    def read() -> float | None:
        with engine.connect() as conn:
            return rollup_lag_s(conn)

    app.add_middleware(Freshness, lag=RollupLag(read), threshold_s=threshold_s)
    document(app, threshold_s)
