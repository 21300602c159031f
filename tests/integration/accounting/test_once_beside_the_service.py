"""``accounting run --once`` and ``accounting recompute`` never rewrite buckets beside an active
accounting service: while another process holds the service's lock they leave the work to it
(the ranges stay marked) and say so; once the lock is free they do the pass themselves."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from services.core.leader import ACCOUNTING_ROLLUPS, LeaderLock
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.support.cli import run_cli
from tests.support.feed import point_id

DAY = datetime(2026, 11, 17, tzinfo=ZoneInfo("Asia/Shanghai"))


def _dirty(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()
    return int(row[0]) if row else 0


def _buckets(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute("SELECT count(*) FROM consumption_15m").fetchone()
    return int(row[0]) if row else 0


def test_once_and_recompute_leave_the_work_to_an_active_service(
    small_district: DatabaseSettings,
) -> None:
    env = {"ENERGYMON_DATABASE_URL": small_district.url}
    pid = point_id(small_district, "M-100")
    writer = ReadingWriter(small_district)
    writer.write(
        Batch(rows=[(pid, DAY + timedelta(minutes=15 * i), float(i), DAY, 1) for i in range(9)])
    )
    writer.close()
    assert _dirty(small_district) > 0
    service = LeaderLock(small_district, ACCOUNTING_ROLLUPS, name="accounting")
    assert service.ensure()
    try:
        once = run_cli("accounting", "run", "--once", env=env)
        assert once.returncode == 0, once.stderr
        assert "the accounting service is active" in once.stdout
        assert "nothing done here" in once.stdout
        again = run_cli("accounting", "recompute", env=env)
        assert again.returncode == 0, again.stderr
        assert "points marked for recomputation" in again.stdout
        assert "it recomputes the marked ranges" in again.stdout
        assert _dirty(small_district) > 0  # left for the active service
        assert _buckets(small_district) == 0
    finally:
        service.close()
    done = run_cli("accounting", "run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rollups: ")
    assert _dirty(small_district) == 0
    assert _buckets(small_district) == 9  # a row for each quarter-hour that holds a reading
