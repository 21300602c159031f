"""Counter anomalies the rollups find — a reset, a rollover, a spike above the point's maximum
rate — are stored as counter events and open one data-quality alert per meter and kind, also when
a week-late delivery reveals them; the alert resolves once nothing new was found for 24 hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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

STEP = timedelta(minutes=15)
ENT = "91120111MA05K8XX3E"


def _series(start: datetime, values: list[float]) -> list[tuple[datetime, float]]:
    return [(start + i * STEP, v) for i, v in enumerate(values)]


def test_reset_rollover_and_spike_open_one_alert_each_and_resolve_a_day_later(
    small_district: DatabaseSettings,
) -> None:
    db = small_district
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=6)
    with psycopg.connect(db.libpq_url) as conn:
        ids = dict(
            conn.execute(
                "SELECT m.code, p.id FROM points p JOIN meters m ON m.id = p.meter_id "
                "WHERE p.kind = 'cumulative'"
            ).fetchall()
        )
        conn.execute("UPDATE points SET register_max = 100000 WHERE id = %s", (ids["M-100"],))
        conn.execute("UPDATE points SET max_rate = 100 WHERE id = %s", (ids["DC-IT-1"],))
    feeds = {
        # a reset: 1,110 kWh then 3 kWh (below 1 % of the earlier value)
        "DC-IN-1": _series(start, [1000 + 10 * i for i in range(12)] + [3, 13, 23, 33]),
        # a step of 5,000 kWh in 15 minutes = 20,000 kW, far above the 100 kW rating
        "DC-IT-1": _series(start, [1000, 1010, 1020, 6020, 6030, 6040, 6050, 6060]),
        # the register (max 100,000) rolls over to 5
        "M-100": _series(start, [99960, 99970, 99980, 99990, 5, 15, 25]),
    }
    rows = [(ids[m], ts, v, ts, 1) for m, series in feeds.items() for ts, v in series]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    with psycopg.connect(db.libpq_url) as conn:
        events = conn.execute(
            "SELECT m.code, e.kind, e.ts, e.energy FROM counter_events e "
            "JOIN points p ON p.id = e.point_id JOIN meters m ON m.id = p.meter_id ORDER BY 1"
        ).fetchall()
    assert events == [
        ("DC-IN-1", "reset", start + 12 * STEP, 3.0),
        ("DC-IT-1", "spike_excluded", start + 3 * STEP, 0.0),
        ("M-100", "rollover", start + 4 * STEP, 15 * 80.0),  # 10 + 5 counted, x80 multiplier
    ]
    settings = AlertsSettings(hold_s=600)
    evaluator = Evaluator(
        engine,
        settings,
        [quality_family(ZoneInfo("Asia/Shanghai"))],
        Router(settings.routes, []),
        AlertsMetrics(CollectorRegistry()),
    )

    def alerts() -> list[tuple[object, ...]]:
        with psycopg.connect(db.libpq_url) as conn:
            return conn.execute(
                "SELECT rule, subject, severity, state, value FROM alerts ORDER BY rule, subject"
            ).fetchall()

    for _ in range(3):  # re-evaluation updates, never duplicates
        evaluator.evaluate_all(now=now)
    assert alerts() == [
        ("counter_reset", f"{ENT}/DC-IN-1", "warning", "open", 1.0),
        ("counter_rollover", f"{ENT}/M-100", "info", "open", 1.0),
        ("spike_excluded", f"{ENT}/DC-IT-1", "warning", "open", 1.0),
    ]
    # a gateway that was offline for a week delivers G-1's stored readings: they hold a reset
    week_ago = now - timedelta(days=7)
    late = _series(week_ago, [500, 510, 520, 1, 11])
    writer = ReadingWriter(db)
    writer.write(Batch(rows=[(ids["G-1"], ts, v, now, 1) for ts, v in late]))
    writer.close()
    catch_up(engine)
    evaluator.evaluate_all(now=now)
    assert ("counter_reset", f"{ENT}/G-1", "warning", "open", 1.0) in alerts()
    assert len(alerts()) == 4
    # nothing new for a day: the alerts clear, and resolve after the hold time
    evaluator.evaluate_all(now=now + timedelta(hours=25))
    assert {a[3] for a in alerts()} == {"open"}  # clearing, not yet resolved
    evaluator.evaluate_all(now=now + timedelta(hours=25, minutes=11))
    assert {a[3] for a in alerts()} == {"resolved"}
    engine.dispose()
