"""The monitoring API: ``create_app(config)`` builds one app (tests build one per case)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.context import (
    ApiConfig,
    ApiContext,
    ApiMetrics,
    RateLimiter,
    RegistryCache,
    WriterPool,
)
from services.api.problems import install as install_problems
from services.api.problems import problem_response
from services.api.routes import (
    alerts,
    auth,
    energy,
    indicators,
    ingest,
    readings,
    registry,
    reports,
)
from services.api.security import configure_hasher
from services.api.snapshots import Snapshots
from services.core.db import make_engine
from services.core.schema.migrate import current_revision, head_revision

DESCRIPTION = """
Online energy-consumption monitoring of a district's key energy-using units and data centres.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password grant for people, client credentials
for machines) and send `Authorization: Bearer <token>`, or send a machine client's `X-API-Key`.
Roles: `admin`, `officer` (reads everything), `enterprise` (its own enterprise only), `gateway`
(HTTP ingest for itself only). Errors are `application/problem+json` (RFC 9457).
"""


class LimitsAndMetrics:
    """Refuses oversized bodies and NUL characters before routing; counts and times every
    request by route template and status. Plain ASGI (Starlette's ``BaseHTTPMiddleware`` costs
    a task and a stream per request)."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.ctx.config.api.max_body_bytes
        path: str = scope["path"]
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        refusal: Response | None = None
        if length is not None and length.isdigit() and int(length) > limit:
            refusal = problem_response(
                413, "payload-too-large", f"bodies are limited to {limit} bytes", path
            )
        elif b"%00" in scope.get("query_string", b"") or "\x00" in path:
            # PostgreSQL text cannot hold NUL; refuse it before it reaches a query
            refusal = problem_response(
                400, "invalid-parameter", "NUL characters are not allowed", path
            )
        start = time.perf_counter()
        if refusal is not None:
            await refusal(scope, receive, send)
            self._count("unmatched", scope["method"], refusal.status_code, start)
            return
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self._count(route, scope["method"], status[0], start)

    def _count(self, route: str, method: str, status: int, start: float) -> None:
        metrics = self.ctx.metrics
        metrics.requests.labels(route, method, str(status)).inc()
        metrics.latency.labels(route, method).observe(time.perf_counter() - start)


def create_app(config: ApiConfig) -> FastAPI:
    configure_hasher(config.api.argon2_time_cost, config.api.argon2_memory_kib)
    engine = make_engine(
        config.db,
        pool_size=config.api.db_pool_size,
        parallel=False,
        session_zone=config.common.zone.key,
    )
    metrics_registry = CollectorRegistry()
    ctx = ApiContext(
        config=config,
        engine=engine,
        writers=WriterPool(config.db, size=4),
        registry=RegistryCache(engine, config.ingest.registry_refresh_s),
        metrics=ApiMetrics(metrics_registry),
        limiter=RateLimiter(config.api.rate_limit_per_s, config.api.rate_limit_burst),
        snapshots=Snapshots(config.api.snapshot_ttl_s),
    )
    head = head_revision(config.db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.writers.close()
        engine.dispose()

    app = FastAPI(
        title="energymon monitoring API", version="1", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.ctx = ctx
    install_problems(app)

    app.add_middleware(LimitsAndMetrics, ctx=ctx)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> PlainTextResponse:
        def check() -> str | None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                rev = current_revision(conn)
            return None if rev == head else f"schema at {rev}, code expects {head}"

        try:
            problem = await run_in_threadpool(check)
        except Exception as err:  # noqa: BLE001 - any failure means not ready
            problem = f"database unreachable: {type(err).__name__}"
        if problem:
            return PlainTextResponse(f"not ready: {problem}\n", status_code=503)
        return PlainTextResponse("ready\n")

    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        if shared:  # several worker processes: every worker's samples, summed
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged, shared)  # type: ignore[no-untyped-call]
            return Response(generate_latest(merged), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    for module in (auth, registry, readings, indicators, energy, reports, ingest, alerts):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process when ``ENERGYMON_API_WORKERS`` > 1."""
    from services.core.logging import configure_logging

    config = ApiConfig.from_env()
    configure_logging(config.common.log_level, config.common.log_format)
    return create_app(config)


def main() -> int:
    import uvicorn

    from services.core.logging import configure_logging
    from services.core.settings import require_safe

    config = ApiConfig.from_env()
    configure_logging(config.common.log_level, config.common.log_format)
    require_safe(config.common, api=config.api)
    options: dict[str, Any] = {
        "host": config.api.host,
        "port": config.api.port,
        "log_config": None,
        "access_log": False,
    }
    if config.api.workers == 1:
        uvicorn.run(create_app(config), **options)
        return 0
    # Worker processes share the port; their metrics meet in a directory of their own
    # (prometheus_client's multiprocess mode, read before a worker imports the client).
    with tempfile.TemporaryDirectory(prefix="energymon-api-metrics-") as shared:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
        uvicorn.run(
            "services.api.app:app_from_env", factory=True, workers=config.api.workers, **options
        )
    return 0
