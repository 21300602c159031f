"""PUE alerts: the limit comes from the site's class; low coverage is its own alert type, never a
breach; flapping within the margin opens nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from prometheus_client import CollectorRegistry

from services.accounting.rollup import catch_up
from services.alerts.evaluator import AlertsMetrics, Evaluator, pue_family
from services.alerts.notify import Router
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import AlertsSettings, DatabaseSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 local
START = NOW - timedelta(hours=30)


@pytest.fixture
def pue_evaluator(small_district: DatabaseSettings) -> Iterator[Evaluator]:
    settings = AlertsSettings(pue_margin=0.02, hold_s=0)
    engine = make_engine(small_district)
    yield Evaluator(
        engine,
        settings,
        [pue_family(settings, SHANGHAI)],
        Router(settings.routes, []),
        AlertsMetrics(CollectorRegistry()),
    )
    engine.dispose()


def _set_class(db: DatabaseSettings, dc_class: str) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE sites SET dc_class = %s WHERE code = 'dc-1'", (dc_class,))


def _feed(
    db: DatabaseSettings,
    facility: float,
    it: float,
    *,
    start: datetime = START,
    steps: int = 120,
    skip_every: int = 0,
) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        ids = dict(
            conn.execute(
                "SELECT m.code, p.id FROM points p JOIN meters m ON "
                "m.id = p.meter_id WHERE m.code IN ('DC-IN-1', 'DC-IT-1')"
            )
        )
    rows = []
    for i in range(steps + 1):
        ts = start + timedelta(minutes=15 * i)
        rows.append((ids["DC-IT-1"], ts, 1000 + it * i, ts, 1))
        if not (skip_every and i % skip_every == 1):
            rows.append((ids["DC-IN-1"], ts, 1000 + facility * i, ts, 1))
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()


def _alerts(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT rule, time_window, state, value, limit_value FROM alerts "
            "ORDER BY rule, time_window"
        ).fetchall()


@pytest.mark.parametrize(
    ("dc_class", "facility", "expected"),
    [
        (
            "new_large",
            13.0,
            [
                ("pue_over_limit", "mtd", "open", 1.3, 1.25),
                ("pue_over_limit", "rolling_24h", "open", 1.3, 1.25),
                ("pue_over_limit", "ytd", "open", 1.3, 1.25),
            ],
        ),
        ("existing", 13.0, []),
        (
            "existing",
            16.0,
            [
                ("pue_over_limit", "mtd", "open", 1.6, 1.5),
                ("pue_over_limit", "rolling_24h", "open", 1.6, 1.5),
                ("pue_over_limit", "ytd", "open", 1.6, 1.5),
            ],
        ),
    ],
)
def test_the_limit_follows_the_data_centre_class(
    pue_evaluator: Evaluator,
    small_district: DatabaseSettings,
    dc_class: str,
    facility: float,
    expected: list[tuple[object, ...]],
) -> None:
    _set_class(small_district, dc_class)
    _feed(small_district, facility, 10.0)
    catch_up(pue_evaluator.engine)
    pue_evaluator.evaluate_all(now=NOW)
    assert _alerts(small_district) == expected


def test_half_coverage_is_insufficient_data_and_never_a_pue_alert(
    pue_evaluator: Evaluator, small_district: DatabaseSettings
) -> None:
    _feed(small_district, 16.0, 10.0, skip_every=2)
    catch_up(pue_evaluator.engine)
    pue_evaluator.evaluate_all(now=NOW)
    rules = {r[0] for r in _alerts(small_district)}
    assert rules == {"pue_insufficient_data"}


def test_flapping_within_the_margin_keeps_one_alert_and_falling_below_clears_it(
    pue_evaluator: Evaluator, small_district: DatabaseSettings
) -> None:
    _feed(small_district, 12.6, 10.0, steps=96, start=NOW - timedelta(hours=24))  # 1.26
    catch_up(pue_evaluator.engine)
    pue_evaluator.evaluate_all(now=NOW)
    opened = [a for a in _alerts(small_district) if a[1] == "rolling_24h"]
    assert opened == [("pue_over_limit", "rolling_24h", "open", 1.26, 1.25)]
    # the next day runs at 1.24: below the limit but inside the margin -> still the same alert
    _feed(small_district, 12.4, 10.0, steps=96, start=NOW)
    catch_up(pue_evaluator.engine)
    pue_evaluator.evaluate_all(now=NOW + timedelta(hours=24))
    day2 = [a for a in _alerts(small_district) if a[1] == "rolling_24h"]
    assert [(a[2], a[3]) for a in day2] == [("open", 1.24)]
    # a day at 1.20 (below 1.25 - 0.02) clears it
    _feed(small_district, 12.0, 10.0, steps=96, start=NOW + timedelta(hours=24))
    catch_up(pue_evaluator.engine)
    pue_evaluator.evaluate_all(now=NOW + timedelta(hours=48))
    day3 = [a for a in _alerts(small_district) if a[1] == "rolling_24h"]
    assert [a[2] for a in day3] == ["resolved"]
