"""Database connections: SQLAlchemy engines for queries, raw psycopg connections for COPY."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine, event, exc

from services.core.settings import DatabaseSettings


def make_engine(
    settings: DatabaseSettings,
    *,
    pool_size: int = 5,
    parallel: bool = True,
    session_zone: str | None = None,
) -> Engine:
    """``parallel=False`` (the API): no parallel workers for this engine's queries. Each worker
    is a process started per query (1-2 ms of CPU); many small concurrent queries gain nothing
    from them and lose the CPU. ``session_zone``: the sessions' TimeZone (default the server's;
    every query names its calendar zone explicitly, so this only changes how PostgreSQL prints
    timestamps, e.g. in JSON it builds)."""
    # JIT compiles for ~1 s on the rollup queries and gains nothing at their sizes
    options = "-c jit=off" + ("" if parallel else " -c max_parallel_workers_per_gather=0")
    if session_zone is not None:
        options += f" -c TimeZone={session_zone}"
    engine = create_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size,
        connect_args={"connect_timeout": int(settings.connect_timeout_s), "options": options},
    )
    _ping_when_idle(engine, settings.ping_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Check a pooled connection with a round trip before it is used, if it has been idle for
    more than ``idle_s`` (``pool_pre_ping`` checks every checkout: a third of the round trips of
    a typical API request). A failed check replaces that connection and every one pooled before
    it, as ``pool_pre_ping`` does; a fresh connection is not checked."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")  # the record's info goes with its connection
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except psycopg.Error as err:
            failure: Any = err  # SQLAlchemy types it as its DB-API protocol's error
            if engine.dialect.is_disconnect(failure, dbapi, None):
                raise exc.InvalidatePoolError(str(err)) from err
            raise


def connect(
    settings: DatabaseSettings, *, autocommit: bool = False
) -> psycopg.Connection[tuple[object, ...]]:
    """A raw psycopg connection (COPY, advisory locks)."""
    return psycopg.connect(
        settings.libpq_url,
        autocommit=autocommit,
        connect_timeout=max(1, int(settings.connect_timeout_s)),
    )


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` unless it exists (connecting to the server's
    ``postgres`` database to do so). Returns whether it was created."""
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is not None:
            return False
        conn.execute(sql.SQL("CREATE DATABASE ") + sql.Identifier(name))
    return True
