"""Intensity alerts: a product above its quota for a month is critical and resolves on the
month's revised output; a month's intensity up on the same month last year beyond the threshold
warns; insufficient data opens nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest

from services.alerts.evaluator import intensity_family
from services.core.quotas import default_quotas
from services.core.settings import AlertsSettings, DatabaseSettings
from tests.integration.alerts.conftest import evaluate_once
from tests.support.intensity import ENT_A, SHANGHAI, enter, feed_month, provision

NOV = date(2026, 11, 1)
NOV_LAST = date(2025, 11, 1)
DEC_5 = datetime(2026, 12, 5, tzinfo=UTC)
JAN_5 = datetime(2027, 1, 5, tzinfo=UTC)
# hot metal takes M-100 (1 kWh x80 a bucket) and G-1 (0.5 m3): 30 064.752 kgce in November
STEPS = {("M-100", "energy_import_kwh"): 1.0, ("G-1", "gas_volume_m3"): 0.5}


@pytest.fixture
def district(small_district: DatabaseSettings) -> DatabaseSettings:
    provision(small_district)
    return small_district


def _open(db: DatabaseSettings, now: datetime) -> list[tuple[object, ...]]:
    settings = AlertsSettings(hold_s=0)
    family = intensity_family(settings, SHANGHAI, default_quotas())
    evaluate_once(db, settings, family, now)
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT rule, severity, subject, time_window, round(value::numeric, 2)::float, "
            "limit_value, title FROM alerts WHERE state = 'open' ORDER BY rule, subject"
        ).fetchall()


def _revise(db: DatabaseSettings, value: float) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute(
            "UPDATE production_entries SET value = %s, revision = revision + 1 "
            "WHERE kind = 'output'",
            (value,),
        )


def test_a_month_above_the_quota_limit_is_critical_until_its_output_is_revised(
    district: DatabaseSettings,
) -> None:
    feed_month(district, NOV, STEPS)
    assert _open(district, DEC_5) == []  # no output entered: insufficient data, no finding
    enter(district, ENT_A, NOV, 50.0, product="hot-metal")  # 601.3 kgce/t > 415
    (alert,) = _open(district, DEC_5)
    rule, severity, subject, window, value, limit, title = alert
    assert (rule, severity, subject, window) == (
        "quota_over_limit",
        "critical",
        f"{ENT_A}/hot-metal",
        "2026-11",
    )
    assert value == pytest.approx(601.30)
    assert limit == 415
    assert "over the limit" in str(title)
    assert "GB 21256-2025 4.3, Table 3" in str(title)
    # in January the November alert is still judged on November's figures
    assert [a[0] for a in _open(district, JAN_5)] == ["quota_over_limit"]
    _revise(district, 100.0)  # 300.6 kgce/t: a leader
    assert _open(district, JAN_5) == []


def test_a_month_up_on_the_same_month_last_year_beyond_the_threshold_warns(
    district: DatabaseSettings,
) -> None:
    feed_month(district, NOV_LAST, STEPS)
    feed_month(district, NOV, {k: v * 1.25 for k, v in STEPS.items()})
    for month in (NOV_LAST, NOV):
        enter(district, ENT_A, month, 100.0, product="hot-metal")
    rises = [a for a in _open(district, DEC_5) if a[0] == "intensity_yoy_rise"]
    assert [(a[2], a[3], a[4], a[5]) for a in rises] == [
        (f"{ENT_A}/hot-metal", "2026-11", 0.25, 0.05)
    ]
    assert "up 25.0 % on 2025-11" in str(rises[0][6])
