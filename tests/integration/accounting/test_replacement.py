"""`energymon meters replace`: the counter series stays continuous across a meter swap."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _energy(db: DatabaseSettings, pid: int) -> list[float]:
    with psycopg.connect(db.libpq_url) as conn:
        return [
            round(r[0], 6)
            for r in conn.execute(
                "SELECT energy FROM consumption_15m WHERE point_id = %s ORDER BY bucket", (pid,)
            )
        ]


def test_a_registered_swap_is_bridged_instead_of_counted_as_a_reset(
    small_district: DatabaseSettings,
) -> None:
    db = small_district
    with psycopg.connect(db.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id WHERE m.code = 'G-1'"
        ).fetchone()[0]  # type: ignore[index]
    # the old meter reads 5000, 5010; it is swapped at 00:20 at 5014; the new one starts at 2
    values = [5000.0, 5010.0, 6.0, 11.0]
    writer = ReadingWriter(db)
    writer.write(
        Batch(rows=[(pid, T0 + timedelta(minutes=15 * i), v, T0, 1) for i, v in enumerate(values)])
    )
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    assert _energy(db, pid) == [10.0, 6.0, 5.0, 0.0]  # before: the drop looks like a reset
    env = {**os.environ, "ENERGYMON_DATABASE_URL": db.url}
    result = run_cli(
        "meters",
        "replace",
        "--enterprise",
        ENT_A,
        "--meter",
        "G-1",
        "--point",
        "gas_volume_m3",
        "--at",
        "2026-11-20T08:20:00+08:00",
        "--old-final",
        "5014",
        "--new-first",
        "2",
        "--serial",
        "G-1-B",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    catch_up(engine)
    # 5010 -> 5014 on the old meter plus 2 -> 6 on the new one
    assert _energy(db, pid) == [10.0, pytest.approx(8.0), 5.0, 0.0]
    with psycopg.connect(db.libpq_url) as conn:
        assert conn.execute("SELECT serial FROM meters WHERE code = 'G-1'").fetchone() == ("G-1-B",)
    engine.dispose()
