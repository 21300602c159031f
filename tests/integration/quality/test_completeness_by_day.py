"""Completeness per local day in one pass equals ``point_completeness`` asked day by day."""

from __future__ import annotations

from datetime import date, timedelta

from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from services.core.store.completeness import point_completeness, point_completeness_by_day
from services.core.store.rollups import midnight
from tests.support.feed import point_id
from tests.support.quality_scene import DAY, SHANGHAI, seed_quality_day


def test_by_day_equals_day_by_day(small_district: DatabaseSettings) -> None:
    seed_quality_day(small_district)
    ids = [point_id(small_district, m) for m in ("M-100", "DC-IT-1", "F-2", "B-1")]
    ids.append(point_id(small_district, "G-1", "gas_volume_m3"))  # never reported
    first = date(2026, 11, 15)
    now = DAY + timedelta(days=1, hours=6)  # the 18th is under way, the 19th and 20th to come
    engine = make_engine(small_district)
    with engine.connect() as conn:
        by_day = point_completeness_by_day(
            conn, point_ids=ids, first_day=first, days=6, zone=SHANGHAI, now=now
        )
        for n in range(6):
            day = first + timedelta(days=n)
            one = point_completeness(
                conn,
                point_ids=ids,
                start=midnight(day, SHANGHAI),
                end=midnight(day + timedelta(days=1), SHANGHAI),
                zone=SHANGHAI,
                now=now,
            )
            assert {pid: by_day[(pid, day)] for pid in ids} == one, day
    engine.dispose()
    it = ids[1]
    assert (by_day[(it, DAY.date())].expected, by_day[(it, DAY.date())].measured) == (96, 49)
    assert by_day[(it, date(2026, 11, 18))].expected == 24  # until now, 06:00
