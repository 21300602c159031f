"""The monitoring API: ``create_app(config)`` builds one app (tests build one per case)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

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
from services.core.db import make_engine
from services.core.schema.migrate import current_revision, head_revision

DESCRIPTION = """
Online energy-consumption monitoring of a district's key energy-using units and data centres.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password grant for people, client credentials
for machines) and send `Authorization: Bearer <token>`, or send a machine client's `X-API-Key`.
Roles: `admin`, `officer` (reads everything), `enterprise` (its own enterprise only), `gateway`
(HTTP ingest for itself only). Errors are `application/problem+json` (RFC 9457).
"""


def create_app(config: ApiConfig) -> FastAPI:
    configure_hasher(config.api.argon2_time_cost, config.api.argon2_memory_kib)
    engine = make_engine(config.db, pool_size=8)
    metrics_registry = CollectorRegistry()
    ctx = ApiContext(
        config=config,
        engine=engine,
        writers=WriterPool(config.db, size=4),
        registry=RegistryCache(engine, config.ingest.registry_refresh_s),
        metrics=ApiMetrics(metrics_registry),
        limiter=RateLimiter(config.api.rate_limit_per_s, config.api.rate_limit_burst),
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

    @app.middleware("http")
    async def limits_and_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > config.api.max_body_bytes:
            return problem_response(
                413,
                "payload-too-large",
                f"bodies are limited to {config.api.max_body_bytes} bytes",
                request.url.path,
            )
        if "%00" in request.url.query or "\x00" in request.url.path:
            # PostgreSQL text cannot hold NUL; refuse it before it reaches a query
            return problem_response(
                400, "invalid-parameter", "NUL characters are not allowed", request.url.path
            )
        start = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        ctx.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        ctx.metrics.latency.labels(route, request.method).observe(time.perf_counter() - start)
        return response

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

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    for module in (auth, registry, readings, indicators, energy, reports, ingest, alerts):
        app.include_router(module.router)
    return app


def main() -> int:
    import uvicorn

    from services.core.logging import configure_logging
    from services.core.settings import require_safe

    config = ApiConfig.from_env()
    configure_logging(config.common.log_level, config.common.log_format)
    require_safe(config.common, api=config.api)
    uvicorn.run(
        create_app(config),
        host=config.api.host,
        port=config.api.port,
        log_config=None,
        access_log=False,
    )
    return 0
