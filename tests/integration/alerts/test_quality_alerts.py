"""Yesterday's completeness below 90 % opens a data-quality alert for that meter."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from prometheus_client import CollectorRegistry

from services.accounting.rollup import catch_up
from services.alerts.evaluator import AlertsMetrics, Evaluator, quality_family
from services.alerts.notify import Router
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import AlertsSettings, DatabaseSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
YESTERDAY = datetime(2026, 11, 23, tzinfo=SHANGHAI)


def test_a_meter_missing_a_fifth_of_yesterdays_readings_is_flagged_and_a_full_one_is_not(
    small_district: DatabaseSettings,
) -> None:
    with psycopg.connect(small_district.libpq_url) as conn:
        ids = dict(
            conn.execute(
                "SELECT m.code, p.id FROM points p JOIN meters m ON "
                "m.id = p.meter_id WHERE p.quantity = 'energy_import_kwh'"
            )
        )
        conn.execute("UPDATE meters SET created_at = %s", (YESTERDAY - timedelta(days=5),))
    rows = []
    for i in range(96):
        ts = YESTERDAY + timedelta(minutes=15 * i)
        rows.append((ids["DC-IN-1"], ts, float(i), ts, 1))
        if i % 5:  # DC-IT-1 misses every fifth reading: 20 of 96
            rows.append((ids["DC-IT-1"], ts, float(i), ts, 1))
    writer = ReadingWriter(small_district)
    writer.write(Batch(rows=rows))
    writer.close()
    engine = make_engine(small_district)
    catch_up(engine)
    settings = AlertsSettings()
    evaluator = Evaluator(
        engine,
        settings,
        [quality_family(SHANGHAI)],
        Router(settings.routes, []),
        AlertsMetrics(CollectorRegistry()),
    )
    evaluator.evaluate_all(now=YESTERDAY + timedelta(days=1, hours=9))
    engine.dispose()
    with psycopg.connect(small_district.libpq_url) as conn:
        alerts = conn.execute("SELECT subject, time_window, value FROM alerts").fetchall()
    # 76 intervals hold data of the 95 owed since its first reading ever (00:15, the meter's
    # commissioning as far as the data tells)
    assert alerts == [("91120111MA05K8XX3E/DC-IT-1", "2026-11-23", round(76 / 95, 4))]
