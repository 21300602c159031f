"""The data-quality alerts through the evaluator, on real rollups: an enterprise's day below 90 %
completeness, a parent meter off its sub-meters for a day, and a data centre's IT meter silent
while its facility meter goes on (named, so the officer knows the PUE is unknown, not high)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from services.accounting.rollup import catch_up
from services.alerts.evaluator import data_quality_family
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import AlertsSettings, DatabaseSettings, QualitySettings
from tests.integration.alerts.conftest import evaluate_once
from tests.integration.conftest import ENT_A
from tests.support.feed import point_id
from tests.support.quality_scene import DAY, SHANGHAI, seed_quality_day

MORNING_AFTER = DAY + timedelta(days=1, hours=9)


def _evaluate(db: DatabaseSettings, now: datetime) -> list[tuple[object, ...]]:
    settings = AlertsSettings()
    evaluate_once(db, settings, data_quality_family(settings, QualitySettings(), SHANGHAI), now)
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT rule, subject, time_window, value, title FROM alerts "
            "WHERE state <> 'resolved' ORDER BY rule, subject"
        ).fetchall()


def test_the_day_after_a_poor_day_opens_completeness_and_balance_alerts(
    small_district: DatabaseSettings,
) -> None:
    seed_quality_day(small_district)
    # the gas meter reports for the first 2.5 hours of the day only: 10 of 96 intervals
    gas = point_id(small_district, "G-1", "gas_volume_m3")
    writer = ReadingWriter(small_district)
    writer.write(
        Batch(rows=[(gas, DAY + timedelta(minutes=15 * i), float(i), DAY, 1) for i in range(10)])
    )
    writer.close()
    engine = make_engine(small_district)
    catch_up(engine)
    engine.dispose()
    alerts = _evaluate(small_district, MORNING_AFTER)
    assert [(a[0], a[1], a[2]) for a in alerts] == [
        ("enterprise_low_completeness", ENT_A, "2026-11-17"),
        ("meter_balance_deviation", f"{ENT_A}/M-100", "2026-11-17"),
    ]  # enterprise B's only meter was complete; by 09:00 both data-centre meters are silent
    completeness, balance = alerts
    assert completeness[3] == round((433 + 10) / (6 * 96), 4)
    assert balance[3] == 0.0625
    assert "against its sub-meters F-1, F-2 on 2026-11-17: +6.2%" in str(balance[4])


def test_a_silent_it_meter_is_named_while_the_facility_meter_reports(
    small_district: DatabaseSettings,
) -> None:
    seed_quality_day(small_district)
    evening = DAY + timedelta(hours=18)  # DC-IT-1's last reading 12:00, DC-IN-1 until midnight
    silent = [a for a in _evaluate(small_district, evening) if a[0] == "pue_meter_silent"]
    assert [(a[1], a[2]) for a in silent] == [(f"{ENT_A}/DC-IT-1", "")]
    title = str(silent[0][4])
    assert title.startswith(
        f"IT meter DC-IT-1 of {ENT_A}/dc-1 silent (last reading 2026-11-17T04:00"
    )
    assert title.endswith("while DC-IN-1 reports: the PUE is unknown, not high")


def test_complete_days_and_balanced_meters_raise_nothing(small_district: DatabaseSettings) -> None:
    from tests.support.feed import feed_counter
    from tests.support.quality import add_sub_meters

    add_sub_meters(small_district)
    for meter, step in (("M-100", 1.0), ("F-1", 50.0), ("F-2", 29.0)):  # 79 of 80: 1.25 %
        feed_counter(small_district, meter, DAY, 97, 0, step)
    for meter in ("DC-IN-1", "DC-IT-1", "B-1"):
        feed_counter(small_district, meter, DAY, 97, 0, 10)
    # the gas meter too: a registered meter that never reported owes its periods (it is missing,
    # not "not yet commissioned", unless the registry gives a commissioned date)
    gas = point_id(small_district, "G-1", "gas_volume_m3")
    writer = ReadingWriter(small_district)
    writer.write(
        Batch(rows=[(gas, DAY + timedelta(minutes=15 * i), float(i), DAY, 1) for i in range(97)])
    )
    writer.close()
    engine = make_engine(small_district)
    catch_up(engine)
    engine.dispose()
    assert _evaluate(small_district, DAY + timedelta(days=1, minutes=10)) == []
