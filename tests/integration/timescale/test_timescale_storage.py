"""TimescaleDB storage: run where ENERGYMON_TEST_TIMESCALE_URL points at a TimescaleDB server
(a maintenance database URL, e.g. postgresql://postgres@127.0.0.1:5433/postgres)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.schema.migrate import timescale_enabled, upgrade
from services.core.settings import DatabaseSettings
from tests.support import db as dbs

pytestmark = [
    pytest.mark.timescale,
    pytest.mark.skipif(
        not os.environ.get("ENERGYMON_TEST_TIMESCALE_URL"),
        reason="ENERGYMON_TEST_TIMESCALE_URL is not set",
    ),
]


@pytest.fixture
def ts_db() -> Iterator[DatabaseSettings]:
    server = os.environ["ENERGYMON_TEST_TIMESCALE_URL"]
    name = f"energymon_ts_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield DatabaseSettings(
        url=dbs.with_database(server, name),
        timescale="on",
        retention_days=400,
        compress_after_days=3,
    )
    dbs.drop(server, name)


def _jobs(db: DatabaseSettings) -> dict[str, str]:
    with psycopg.connect(db.libpq_url) as conn:
        return {
            proc: str(cfg)
            for proc, cfg in conn.execute(
                "SELECT proc_name, config FROM timescaledb_information.jobs "
                "WHERE hypertable_name = 'readings'"
            )
        }


def test_readings_become_a_compressed_hypertable_with_retention(ts_db: DatabaseSettings) -> None:
    engine = make_engine(ts_db)
    upgrade(engine, ts_db)
    with engine.connect() as conn:
        assert timescale_enabled(conn)
    jobs = _jobs(ts_db)
    assert "400 days" in jobs["policy_retention"]
    assert "3 days" in jobs["policy_compression"]
    # changed settings take effect on the next upgrade
    changed = ts_db.model_copy(update={"retention_days": 800})
    upgrade(engine, changed)
    assert "800 days" in _jobs(ts_db)["policy_retention"]
    engine.dispose()


def test_the_idempotent_write_works_on_a_hypertable_including_compressed_chunks(
    ts_db: DatabaseSettings,
) -> None:
    engine = make_engine(ts_db)
    upgrade(engine, ts_db)
    engine.dispose()
    old = datetime.now(UTC) - timedelta(days=30)
    rows = [(1, old + timedelta(minutes=15 * i), float(i), datetime.now(UTC), 1) for i in range(96)]
    writer = ReadingWriter(ts_db)
    assert writer.write(Batch(rows=rows)).inserted == 96
    with psycopg.connect(ts_db.libpq_url, autocommit=True) as conn:
        conn.execute("SELECT compress_chunk(c) FROM show_chunks('readings') c")
    again = writer.write(Batch(rows=rows))
    assert (again.inserted, again.duplicates) == (0, 96)
    writer.close()
