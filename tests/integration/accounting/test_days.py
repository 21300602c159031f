"""Daily rollups: consumption_1d is always consumption_15m summed per local day, through late
data; and every query that reads whole days from it answers exactly what the 15-minute rows
answer, for windows that start and end anywhere."""

from __future__ import annotations

import os
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.factors import default_factors
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from services.core.store.budgets import statuses
from services.core.store.consumption import consumption
from services.core.store.pue import all_sites_pue, site_pue
from services.core.store.scope import Scope
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 27, 20, 0, tzinfo=SHANGHAI)  # to 2 Nov 20:00: across a month end
DAYS = 6


def _pid(db: DatabaseSettings, meter: str) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = %s AND p.quantity = 'energy_import_kwh'",
            (meter,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _counter(
    pid: int, seed: int, skip: set[int], scale: float = 1.0
) -> list[tuple[int, datetime, float]]:
    rng = random.Random(seed)
    value, rows = 5000.0, []
    for i in range(96 * DAYS):
        value += rng.uniform(0.5, 3.0) * scale
        if i not in skip:
            rows.append((pid, START + timedelta(minutes=15 * i), round(value, 3)))
    return rows


def _write(db: DatabaseSettings, rows: list[tuple[int, datetime, float]]) -> None:
    writer = ReadingWriter(db)
    writer.write(Batch(rows=[(p, ts, v, ts, 1) for p, ts, v in rows]))
    writer.close()


def _days_vs_buckets(
    db: DatabaseSettings,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with psycopg.connect(db.libpq_url) as conn:
        days = conn.execute(
            "SELECT point_id, day, round(energy::numeric, 6), readings, expected, estimated "
            "FROM consumption_1d ORDER BY 1, 2"
        ).fetchall()
        summed = conn.execute(
            "SELECT point_id, (bucket AT TIME ZONE 'Asia/Shanghai')::date, "
            "round(sum(energy)::numeric, 6), sum(readings), sum(expected), bool_or(estimated) "
            "FROM consumption_15m GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    return days, summed


@pytest.fixture
def dc_data(small_district: DatabaseSettings) -> DatabaseSettings:
    """Six days of facility and IT counters for dc-1 and M-100, with holes delivered late."""
    db = small_district
    holes = set(range(200, 230)) | {5, 6, 400}
    feeds = [
        _counter(_pid(db, "DC-IN-1"), 1, holes),
        _counter(_pid(db, "DC-IT-1"), 2, set(), scale=0.7),
        _counter(_pid(db, "M-100"), 3, holes),
    ]
    for rows in feeds:
        _write(db, rows)
    catch_up(make_engine(db))
    days, summed = _days_vs_buckets(db)
    assert days == summed
    assert len(days) == 3 * (DAYS + 1)  # each series touches seven local days
    # the holes arrive a week late: the days they fall in are refreshed with the buckets
    for seed, meter in ((1, "DC-IN-1"), (3, "M-100")):
        late = [r for i, r in enumerate(_counter(_pid(db, meter), seed, set())) if i in holes]
        _write(db, late)
    catch_up(make_engine(db))
    days_after, summed_after = _days_vs_buckets(db)
    assert days_after == summed_after
    assert days_after != days
    return db


def _without_days(db: DatabaseSettings) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("DELETE FROM rollup_meta WHERE key = 'days_zone'")


WINDOWS = [
    (START, START + timedelta(days=DAYS)),  # starts and ends mid-day
    (datetime(2026, 10, 28, tzinfo=SHANGHAI), datetime(2026, 11, 1, tzinfo=SHANGHAI)),  # whole
    (datetime(2026, 10, 29, 3, 15, tzinfo=SHANGHAI), datetime(2026, 10, 29, 20, tzinfo=SHANGHAI)),
    (datetime(2026, 10, 1, tzinfo=SHANGHAI), datetime(2026, 12, 1, tzinfo=SHANGHAI)),  # beyond
    (datetime(2026, 10, 30, 23, 50, tzinfo=SHANGHAI), datetime(2026, 11, 2, 0, 5, tzinfo=SHANGHAI)),
]


def test_pue_from_whole_days_equals_pue_from_fifteen_minute_rows(dc_data: DatabaseSettings) -> None:
    engine = make_engine(dc_data)
    with engine.connect() as conn:
        with_days = [all_sites_pue(conn, start=a, end=b, zone=SHANGHAI) for a, b in WINDOWS]
        one = [
            site_pue(conn, enterprise=ENT_A, site="dc-1", start=a, end=b, zone=SHANGHAI)
            for a, b in WINDOWS
        ]
    # the whole-day window really reads consumption_1d: scaling the facility days shows
    with psycopg.connect(dc_data.libpq_url) as conn:
        conn.execute(
            "UPDATE consumption_1d SET energy = energy * 2 WHERE point_id = %s",
            (_pid(dc_data, "DC-IN-1"),),
        )
    with engine.connect() as conn:
        doubled = all_sites_pue(conn, start=WINDOWS[1][0], end=WINDOWS[1][1], zone=SHANGHAI)
    [site_id] = doubled
    assert doubled[site_id].ratio == pytest.approx(2 * with_days[1][site_id].ratio)
    _without_days(dc_data)
    with engine.connect() as conn:
        plain = [all_sites_pue(conn, start=a, end=b, zone=SHANGHAI) for a, b in WINDOWS]
    for days, single, rows in zip(with_days, one, plain, strict=True):
        [site] = rows
        assert days[site].facility_kwh == pytest.approx(rows[site].facility_kwh, rel=1e-12)
        assert days[site].it_kwh == pytest.approx(rows[site].it_kwh, rel=1e-12)
        assert days[site].facility_coverage == rows[site].facility_coverage
        assert days[site].status == rows[site].status
        assert single == days[site]
    assert with_days[1][site].ratio == pytest.approx(1 / 0.7, rel=0.1)


def test_daily_and_monthly_consumption_from_days_equals_the_fifteen_minute_sums(
    dc_data: DatabaseSettings,
) -> None:
    engine = make_engine(dc_data)

    def read() -> list[list[tuple[object, ...]]]:
        with engine.connect() as conn:
            return [
                [
                    (r.period, r.carrier, round(r.amount, 6), round(r.completeness, 9), r.estimated)
                    for r in consumption(
                        conn,
                        scope=Scope(enterprise=ENT_A),
                        start=a,
                        end=b,
                        interval=interval,
                        zone=SHANGHAI,
                    )
                ]
                for a, b in WINDOWS
                for interval in ("1d", "1mo", "1y")
            ]

    with_days = read()
    _without_days(dc_data)
    assert read() == with_days
    assert len(with_days[0]) == 7  # seven local days, one carrier (facility + M-100 electricity)


def test_budget_status_from_days_equals_the_fifteen_minute_sums(dc_data: DatabaseSettings) -> None:
    with psycopg.connect(dc_data.libpq_url) as conn:
        conn.execute(
            "INSERT INTO budgets (enterprise_id, year, carrier, amount, unit) "
            "SELECT id, 2026, 'electricity', 900000, 'kWh' FROM enterprises WHERE code = %s",
            (ENT_A,),
        )
    engine = make_engine(dc_data)
    now = datetime(2026, 11, 2, 13, 7, tzinfo=SHANGHAI)

    def read() -> list[object]:
        with engine.connect() as conn:
            return [
                s
                for _, s in statuses(
                    conn, default_factors(), now=now, zone=SHANGHAI, thresholds=(0.8, 0.9)
                )
            ]

    with_days = read()
    _without_days(dc_data)
    assert read() == with_days
    assert with_days[0].used > 0  # type: ignore[attr-defined]


def test_rebuild_days_follows_a_changed_calendar_zone(dc_data: DatabaseSettings) -> None:
    env = {**os.environ, "ENERGYMON_DATABASE_URL": dc_data.url, "ENERGYMON_TIMEZONE": "UTC"}
    result = run_cli("accounting", "rebuild-days", env=env)
    assert result.returncode == 0, result.stderr
    assert "daily rollups rebuilt in UTC" in result.stdout
    with psycopg.connect(dc_data.libpq_url) as conn:
        zone = conn.execute("SELECT value FROM rollup_meta WHERE key = 'days_zone'").fetchone()
        first = conn.execute("SELECT min(day) FROM consumption_1d").fetchone()
    assert zone == ("UTC",)
    assert first == (date(2026, 10, 27),)  # 20:00 Shanghai is 12:00 UTC the same day
    # Shanghai queries no longer match the days' zone and read the 15-minute rows: still exact
    engine = make_engine(dc_data)
    with engine.connect() as conn:
        after = all_sites_pue(conn, start=WINDOWS[1][0], end=WINDOWS[1][1], zone=SHANGHAI)
    _without_days(dc_data)
    with engine.connect() as conn:
        plain = all_sites_pue(conn, start=WINDOWS[1][0], end=WINDOWS[1][1], zone=SHANGHAI)
    assert after == plain
