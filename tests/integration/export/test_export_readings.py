"""`energymon export readings` writes the raw record as CSV with local-time offsets."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta

from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli


def _point_ids(db: DatabaseSettings) -> dict[tuple[str, str], int]:
    import psycopg

    with psycopg.connect(db.libpq_url) as conn:
        return {
            (m, q): i
            for i, m, q in conn.execute(
                "SELECT p.id, m.code, p.quantity FROM points p JOIN meters m ON m.id = p.meter_id"
            )
        }


def test_export_lists_an_enterprises_readings_in_the_window_in_local_time(
    small_district: DatabaseSettings,
) -> None:
    ids = _point_ids(small_district)
    t0 = datetime(2026, 11, 22, 15, 45, tzinfo=UTC)  # 23:45 in Shanghai
    now = datetime.now(UTC)
    rows = [
        (ids[("M-100", "energy_import_kwh")], t0 + timedelta(minutes=15 * i), 100.0 + i, now, 1)
        for i in range(4)
    ]
    rows.append((ids[("B-1", "energy_import_kwh")], t0, 9.0, now, 1))  # another enterprise
    writer = ReadingWriter(small_district)
    writer.write(Batch(rows=rows))
    writer.close()

    env = {**os.environ, "ENERGYMON_DATABASE_URL": small_district.url}
    result = run_cli(
        "export",
        "readings",
        "--enterprise",
        ENT_A,
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-24",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert table == [
        ["enterprise", "site", "meter", "point", "ts", "value", "unit"],
        [
            ENT_A,
            "plant-1",
            "M-100",
            "energy_import_kwh",
            "2026-11-23T00:00:00+08:00",
            "101.0",
            "kWh",
        ],
        [
            ENT_A,
            "plant-1",
            "M-100",
            "energy_import_kwh",
            "2026-11-23T00:15:00+08:00",
            "102.0",
            "kWh",
        ],
        [
            ENT_A,
            "plant-1",
            "M-100",
            "energy_import_kwh",
            "2026-11-23T00:30:00+08:00",
            "103.0",
            "kWh",
        ],
    ]
    assert "exported 3 readings" in result.stderr
