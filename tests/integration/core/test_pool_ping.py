"""ENERGYMON_DATABASE_PING_IDLE_S: a pooled connection idle for longer is checked before use, so a
connection the server closed meanwhile is replaced unseen; one used more recently is trusted,
its request fails, and the pool then replaces it and every connection older than the failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import psycopg
import pytest
from sqlalchemy import Engine, exc, text

from services.core.db import make_engine
from services.core.settings import DatabaseSettings

POOL = 3


def _pooled_backends(engine: Engine) -> set[int]:
    """Fill the pool: ``POOL`` connections open at once, then back in the pool; their server
    process ids."""
    with ExitStack() as stack:
        conns = [stack.enter_context(engine.connect()) for _ in range(POOL)]
        return {int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in conns}


def _terminate(db: DatabaseSettings, pids: set[int]) -> None:
    """End those server processes from another session, as a server restart, a failover or a
    proxy's idle timeout would, and wait until they have ended."""
    with psycopg.connect(db.libpq_url, autocommit=True) as admin:
        for pid in pids:
            ended = admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()
            assert ended == (True,)


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


@contextmanager
def _pool_closed_by_the_server(
    db: DatabaseSettings, ping_idle_s: float
) -> Iterator[tuple[Engine, set[int]]]:
    """An engine whose full pool the server has just closed, and the closed connections'
    process ids."""
    engine = make_engine(db.model_copy(update={"ping_idle_s": ping_idle_s}), pool_size=POOL)
    try:
        old = _pooled_backends(engine)
        _terminate(db, old)
        yield engine, old
    finally:
        engine.dispose()


def test_connections_closed_by_the_server_while_idle_are_replaced_unseen(
    db_settings: DatabaseSettings,
) -> None:
    # 0: every checkout counts as idle long enough to be checked
    with _pool_closed_by_the_server(db_settings, ping_idle_s=0) as (engine, old):
        for _ in range(POOL):  # each of the pooled connections is dead: none is handed out
            assert _backend(engine) not in old
        assert _pooled_backends(engine).isdisjoint(old)


def test_a_recently_used_connection_is_trusted_and_one_failure_renews_the_pool(
    db_settings: DatabaseSettings,
) -> None:
    # an hour: never idle long enough to be checked
    with _pool_closed_by_the_server(db_settings, ping_idle_s=3600) as (engine, old):
        with pytest.raises(exc.OperationalError) as failed:
            _backend(engine)
        assert failed.value.connection_invalidated
        # the failure replaced every connection pooled before it, not only the one that failed
        assert _pooled_backends(engine).isdisjoint(old)
