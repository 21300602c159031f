"""The monitoring API: ``create_app(config)`` builds one app (tests build one per case)."""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from services.api import console
from services.api.accounts import AccountVersions
from services.api.context import (
    ApiConfig,
    ApiContext,
    ApiMetrics,
    RateLimiter,
    RegistryCache,
    WriterPool,
)
from services.api.freshness import install as install_freshness
from services.api.middleware import LimitsAndMetrics
from services.api.problems import install as install_problems
from services.api.recycling import ConnectionRecycling
from services.api.replica import ReplicaWatch
from services.api.replica_http import ReplicaAnswers
from services.api.routes import (
    alerts,
    auth,
    budgets,
    consumption,
    demand,
    energy,
    ingest,
    intensity,
    production,
    pue,
    quality,
    readings,
    registry,
    reports,
)
from services.api.security import configure_hasher, decoy_hash
from services.api.snapshots import Snapshots
from services.api.throttle import LoginThrottle
from services.core.db import make_engine
from services.core.errors import EnergymonError, PortInUseError
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
    decoy_hash()  # now, rather than during the first login with an unknown username
    engine = make_engine(
        config.db,
        pool_size=config.api.db_pool_size,
        parallel=False,
        session_zone=config.common.zone.key,
    )
    replica_db = config.db.replica()
    replica = (
        None
        if replica_db is None
        else make_engine(
            replica_db,
            pool_size=config.api.db_pool_size,
            parallel=False,
            session_zone=config.common.zone.key,
        )
    )
    metrics_registry = CollectorRegistry()
    ctx = ApiContext(
        config=config,
        engine=engine,
        writers=WriterPool(config.db, size=4),
        registry=RegistryCache(engine, config.ingest.registry_refresh_s),
        metrics=ApiMetrics(metrics_registry),
        limiter=RateLimiter(config.api.rate_limit_per_s, config.api.rate_limit_burst),
        logins=LoginThrottle.from_settings(config.api),
        snapshots=Snapshots(config.api.snapshot_ttl_s),
        accounts=AccountVersions(config.db.libpq_url),
        replica=replica,
        watch=None if replica is None else ReplicaWatch(engine, replica, metrics_registry),
    )
    head = head_revision(config.db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ctx.accounts.start()
        if ctx.watch is not None:
            ctx.watch.start()
        yield
        if ctx.watch is not None:
            ctx.watch.stop()
        ctx.accounts.stop()
        ctx.writers.close()
        engine.dispose()
        if replica is not None:
            replica.dispose()

    app = FastAPI(
        title="energymon monitoring API", version="1", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.ctx = ctx
    install_problems(app)
    install_freshness(app, ctx.primary_reads, config.accounting.lag_threshold_s)
    app.add_middleware(ReplicaAnswers, ctx=ctx)

    app.add_middleware(
        LimitsAndMetrics, max_body_bytes=config.api.max_body_bytes, metrics=ctx.metrics
    )
    app.add_middleware(ConnectionRecycling, requests=config.api.keepalive_requests)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> PlainTextResponse:
        def check() -> str | None:
            with engine.connect() as conn:  # reading the revision is the round trip
                rev = current_revision(conn)
            return None if rev == head else f"schema at {rev}, code expects {head}"

        try:
            problem = await run_in_threadpool(check)
        except Exception as err:  # noqa: BLE001 - any failure means not ready
            problem = f"database unreachable: {type(err).__name__}"
        if problem:
            return PlainTextResponse(f"not ready: {problem}\n", status_code=503)
        if ctx.watch is not None and ctx.watch.state.reachable is False:
            # the primary serves the reads meanwhile (ReplicaWatch logged it): still ready
            return PlainTextResponse("ready (read replica unreachable: reading the primary)\n")
        return PlainTextResponse("ready\n")

    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        if shared:  # several worker processes: every worker's samples, summed
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged, shared)  # type: ignore[no-untyped-call]
            return Response(generate_latest(merged), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    for module in (
        auth,
        registry,
        readings,
        consumption,
        pue,
        intensity,
        energy,
        budgets,
        production,
        demand,
        reports,
        quality,
        ingest,
        alerts,
    ):
        app.include_router(module.router)
    console.install(app)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process when ``ENERGYMON_API_WORKERS`` > 1."""
    from services.core.logging import configure_logging

    config = ApiConfig.from_env()
    configure_logging(config.common.log_level, config.common.log_format)
    return create_app(config)


def check_port_free(host: str, port: int) -> None:
    """Fail with PortInUseError naming the flag and the setting before uvicorn starts: uvicorn
    itself logs the bind error and exits without saying which setting chose the port."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port, controls="--port or ENERGYMON_API_PORT") from err
        raise


def main(*, host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    """Serve the API; ``host``, ``port`` and ``workers`` (``energymon api`` flags) override
    ``ENERGYMON_API_HOST``, ``_PORT`` and ``_WORKERS``."""
    import uvicorn

    from services.core.logging import configure_logging
    from services.core.settings import require_safe

    flags = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    try:
        config = ApiConfig.from_env(**flags)
    except ValidationError as err:
        bad = next((e for e in err.errors() if e["loc"] and e["loc"][0] in flags), None)
        if bad is None:
            raise  # a setting from the environment: the CLI names the variable
        raise EnergymonError(f"--{bad['loc'][0]} {bad['input']}: {bad['msg']}") from err
    configure_logging(config.common.log_level, config.common.log_format)
    require_safe(config.common, api=config.api)
    if config.api.port != 0:
        check_port_free(config.api.host, config.api.port)
    options: dict[str, Any] = {
        "host": config.api.host,
        "port": config.api.port,
        "log_config": None,
        "access_log": False,
        # uvicorn waits for requests in flight without end (a second SIGTERM does not force it):
        # bound it, so a request stuck on the database cannot outlast the grace period
        "timeout_graceful_shutdown": config.common.shutdown_timeout_s or None,
        # the client address that login throttling counts against, when a proxy is in front
        "forwarded_allow_ips": config.api.trusted_proxies,
    }
    if config.api.workers == 1:
        uvicorn.run(create_app(config), **options)
        return 0
    # Worker processes share the port; their metrics meet in a directory of their own
    # (prometheus_client's multiprocess mode, read before a worker imports the client).
    with tempfile.TemporaryDirectory(prefix="energymon-api-metrics-") as shared:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
        try:
            uvicorn.run(
                "services.api.app:app_from_env", factory=True, workers=config.api.workers, **options
            )
        finally:  # the directory goes away with this block: nothing may point at it afterwards
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    return 0
