"""The daily rollups of a month add up to the month from the 15-minute rollups; a day that does
not is caught, for its point only."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg

from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from services.core.store.consistency import days_against_span
from tests.support.feed import feed_counter, point_id

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _checks(db: DatabaseSettings, zone: ZoneInfo = SHANGHAI) -> dict[int, bool]:
    engine = make_engine(db)
    with engine.connect() as conn:
        checks = days_against_span(conn, first_day=date(2026, 11, 1), days=30, zone=zone)
    engine.dispose()
    return {pid: c.consistent for pid, c in checks.items()}


def test_the_days_of_november_add_up_to_november_until_a_day_is_changed(
    small_district: DatabaseSettings,
) -> None:
    # three local days around month ends, so the month's edges are exercised
    feed_counter(small_district, "M-100", datetime(2026, 10, 31, 22, tzinfo=SHANGHAI), 300, 0, 1)
    feed_counter(small_district, "B-1", datetime(2026, 11, 29, tzinfo=SHANGHAI), 300, 0, 2)
    m100, b1 = point_id(small_district, "M-100"), point_id(small_district, "B-1")
    assert _checks(small_district) == {m100: True, b1: True}

    with psycopg.connect(small_district.libpq_url) as conn:
        conn.execute(
            "UPDATE consumption_1d SET energy = energy + 0.01 WHERE point_id = %s AND day = %s",
            (b1, date(2026, 11, 30)),
        )
    assert _checks(small_district) == {m100: True, b1: False}


def test_daily_rollups_of_another_zone_are_not_compared(small_district: DatabaseSettings) -> None:
    feed_counter(small_district, "B-1", datetime(2026, 11, 29, tzinfo=SHANGHAI), 10, 0, 2)
    assert _checks(small_district, ZoneInfo("Europe/Berlin")) == {}
