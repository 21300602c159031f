"""TimescaleDB storage: run where ENERGYMON_TEST_TIMESCALE_URL points at a TimescaleDB server
(a maintenance database URL, e.g. postgresql://postgres@127.0.0.1:5433/postgres)."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.accounting.days import rebuild_days
from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.migrate import timescale_enabled, upgrade
from services.core.settings import DatabaseSettings
from tests.support import db as dbs
from tests.support.cli import run_cli

DISTRICT = Path(__file__).parents[2] / "fixtures" / "district_small.yaml"
ROLLUPS = ("consumption_15m", "consumption_1d")

pytestmark = [
    pytest.mark.timescale,
    pytest.mark.skipif(
        not os.environ.get("ENERGYMON_TEST_TIMESCALE_URL"),
        reason="ENERGYMON_TEST_TIMESCALE_URL is not set",
    ),
]


def _new_database() -> Iterator[DatabaseSettings]:
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


@pytest.fixture
def ts_db() -> Iterator[DatabaseSettings]:
    yield from _new_database()


@pytest.fixture
def ts_db_twin() -> Iterator[DatabaseSettings]:
    yield from _new_database()


def _jobs(db: DatabaseSettings, table: str = "readings") -> dict[str, str]:
    with psycopg.connect(db.libpq_url) as conn:
        return {
            proc: str(cfg)
            for proc, cfg in conn.execute(
                "SELECT proc_name, config FROM timescaledb_information.jobs "
                "WHERE hypertable_name = %s",
                (table,),
            )
        }


def _job_ids(db: DatabaseSettings) -> dict[tuple[str, str], int]:
    with psycopg.connect(db.libpq_url) as conn:
        return {
            (table, proc): job
            for table, proc, job in conn.execute(
                "SELECT hypertable_name, proc_name, job_id FROM timescaledb_information.jobs "
                "WHERE proc_name IN ('policy_compression', 'policy_retention')"
            )
        }


def _chunk_interval(db: DatabaseSettings, table: str) -> timedelta:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(
            "SELECT time_interval FROM timescaledb_information.dimensions "
            "WHERE hypertable_name = %s",
            (table,),
        ).fetchone()
    assert row is not None
    interval: timedelta = row[0]
    return interval


def test_readings_become_a_compressed_hypertable_with_retention(ts_db: DatabaseSettings) -> None:
    engine = make_engine(ts_db)
    upgrade(engine, ts_db)
    with engine.connect() as conn:
        assert timescale_enabled(conn)
    jobs = _jobs(ts_db)
    assert "400 days" in jobs["policy_retention"]
    assert "3 days" in jobs["policy_compression"]
    with psycopg.connect(ts_db.libpq_url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables "
                "WHERE compression_enabled"
            )
        }
        ts_only = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'readings' "
            "AND indexname <> 'pk_readings'"
        ).fetchall()
    assert tables == {"readings", *ROLLUPS}
    assert ts_only == []  # no index on ts alone: every query names its points
    for table in ROLLUPS:  # compressed and kept: no retention on the rollups
        assert set(_jobs(ts_db, table)) == {"policy_compression"}
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


def test_upgrading_again_leaves_the_policy_jobs_untouched(ts_db: DatabaseSettings) -> None:
    engine = make_engine(ts_db)
    upgrade(engine, ts_db)
    before = _job_ids(ts_db)
    configs = {t: _jobs(ts_db, t) for t in ("readings", *ROLLUPS)}
    upgrade(engine, ts_db)
    upgrade(engine, ts_db)
    assert _job_ids(ts_db) == before
    assert {t: _jobs(ts_db, t) for t in ("readings", *ROLLUPS)} == configs
    engine.dispose()


def test_changed_settings_reach_the_same_jobs_and_the_chunk_interval(
    ts_db: DatabaseSettings,
) -> None:
    engine = make_engine(ts_db)
    upgrade(engine, ts_db)
    before = _job_ids(ts_db)
    assert _chunk_interval(ts_db, "readings") == timedelta(days=7)
    changed = ts_db.model_copy(
        update={"retention_days": 800, "compress_after_days": 21, "chunk_interval_days": 1}
    )
    upgrade(engine, changed)
    assert _job_ids(ts_db) == before  # altered in place: same ids, history and schedule
    assert "800 days" in _jobs(ts_db)["policy_retention"]
    for table in ("readings", *ROLLUPS):
        assert "21 days" in _jobs(ts_db, table)["policy_compression"]
    assert _chunk_interval(ts_db, "readings") == timedelta(days=1)
    assert _chunk_interval(ts_db, "consumption_15m") == timedelta(days=1)
    assert _chunk_interval(ts_db, "consumption_1d") == timedelta(days=365)
    engine.dispose()


def _provision(db: DatabaseSettings) -> int:
    """The small district, days rolled up in Shanghai; returns a cumulative energy point."""
    engine = make_engine(db)
    upgrade(engine, db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(DISTRICT.read_text()))
        rebuild_days(conn, ZoneInfo("Asia/Shanghai"))
    engine.dispose()
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = 'M-100' AND p.quantity = 'energy_import_kwh'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _rows(db: DatabaseSettings, pid: int) -> list[Any]:
    with psycopg.connect(db.libpq_url) as conn:
        fifteen = conn.execute(
            "SELECT bucket, round(energy::numeric, 6), readings, expected, estimated "
            "FROM consumption_15m WHERE point_id = %s ORDER BY bucket",
            (pid,),
        ).fetchall()
        days = conn.execute(
            "SELECT day, round(energy::numeric, 6), readings, expected, estimated "
            "FROM consumption_1d WHERE point_id = %s ORDER BY day",
            (pid,),
        ).fetchall()
    return [fifteen, days]


def _compress_everything(db: DatabaseSettings) -> None:
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        for table in ("readings", *ROLLUPS):
            conn.execute(
                "SELECT compress_chunk(c, if_not_compressed => true) "
                "FROM show_chunks(CAST(%s AS regclass)) c",
                (table,),
            )
        left = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE NOT is_compressed"
        ).fetchone()
    assert left == (0,)


def test_a_late_reading_into_compressed_chunks_gives_the_same_figures(
    ts_db: DatabaseSettings, ts_db_twin: DatabaseSettings
) -> None:
    start = (datetime.now(UTC) - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(20)
    value, series = 5000.0, []
    for i in range(96 * 10):  # ten days of 15-minute readings
        value += round(rng.uniform(1, 4), 3)
        series.append((start + timedelta(minutes=15 * i), value))
    late = series[500]  # a gateway delivers it three weeks late
    results = []
    # the twin's policy compresses nothing of this month (the other's chunks are compressed here)
    twin = ts_db_twin.model_copy(update={"compress_after_days": 90})
    for db, compressed in ((ts_db, True), (twin, False)):
        pid = _provision(db)
        writer = ReadingWriter(db)
        rows = [(pid, ts, v, ts, 1) for ts, v in series if (ts, v) != late]
        writer.write(Batch(rows=rows))
        engine = make_engine(db)
        catch_up(engine)
        if compressed:
            _compress_everything(db)
        written = writer.write(Batch(rows=[(pid, late[0], late[1], datetime.now(UTC), 1)]))
        assert written.inserted == 1
        assert catch_up(engine).points == 1
        writer.close()
        engine.dispose()
        results.append(_rows(db, pid))
    assert results[0] == results[1]
    assert results[0][0]  # buckets and days were written


def test_recompute_over_a_period_retention_dropped_is_refused(ts_db: DatabaseSettings) -> None:
    pid = _provision(ts_db)  # 400 days: the policy drops nothing while the rollups are made
    db = ts_db.model_copy(update={"retention_days": 10})
    start = (datetime.now(UTC) - timedelta(days=40)).replace(minute=0, second=0, microsecond=0)
    writer = ReadingWriter(db)
    writer.write(
        Batch(rows=[(pid, start + timedelta(hours=i), 100.0 + i, start, 1) for i in range(24 * 38)])
    )
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    upgrade(engine, db)  # retention now 10 days
    engine.dispose()
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        # what the retention policy's job does when it runs
        conn.execute("SELECT drop_chunks('readings', older_than => make_interval(days => 10))")
        oldest = conn.execute(
            "SELECT min(range_start) FROM timescaledb_information.chunks "
            "WHERE hypertable_name = 'readings'"
        ).fetchone()
    assert oldest is not None
    assert oldest[0] > start
    env = {"ENERGYMON_DATABASE_URL": db.url, "ENERGYMON_DATABASE_RETENTION_DAYS": "10"}
    for since in ([], ["--since", start.isoformat()]):
        result = run_cli("accounting", "recompute", *since, env=env)
        assert result.returncode != 0
        lines = result.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(
            f"energymon: error: raw readings before {oldest[0].astimezone(UTC).isoformat()} "
            "are gone"
        )
    with psycopg.connect(db.libpq_url) as conn:
        assert conn.execute("SELECT count(*) FROM rollup_dirty").fetchone() == (0,)
    after = (oldest[0] + timedelta(days=2)).isoformat()
    assert run_cli("accounting", "recompute", "--since", after, env=env).returncode == 0
