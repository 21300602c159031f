"""Long windows read whole months from consumption_1mo, the days beside them from consumption_1d
and only the partial days from consumption_15m; every figure (energy, standard coal, CO2,
completeness) equals what the 15-minute rows alone give. The 15-minute answer is the same call
with the rollups marked as built in another zone, where every branch falls back to the
15-minute rows. The district spans three Asia/Shanghai months with gaps, a meter commissioned and
one decommissioned mid-month, an hourly meter and an enterprise with its own heating value; the
windows start and end on and off day and month edges."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, update

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.factors import default_factors
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.tables import consumption_1mo, rollup_meta
from services.core.settings import DatabaseSettings
from services.core.store.completeness import point_completeness
from services.core.store.consumption import CarrierTotal, consumption, totals, totals_by_period
from services.core.store.scope import Scope
from services.core.store.town_totals import totals_by_town
from tests.support import db as dbs
from tests.support.feed import point_id

ZONE = ZoneInfo("Asia/Shanghai")
FIRST = datetime(2026, 8, 25, 0, 0, tzinfo=ZONE)
LAST = datetime(2026, 10, 6, 9, 30, tzinfo=ZONE)  # no reading at or after this
NOW = datetime(2026, 10, 20, tzinfo=ZONE)
WORKS, PLANT, STORE = "91120111MA05K8XX3E", "91120111MA06L2QW8F", "91120111MA07P3RT2K"
DISTRICT = f"""validate_check_digits: false
enterprises:
  - code: {WORKS}
    name: Coking works
    industry: C25
    town: Xiqing
    grid_region: north
    heating_values: [{{carrier: coke_oven_gas, unit: m3, kj_per_unit: 18100,
                       valid_from: 2025-06-01, source: assay of the works}}]
    sites:
      - code: works
        meters:
          - {{code: COG, carrier: coke_oven_gas, points: [gas_volume_m3]}}
          - {{code: W-E, carrier: electricity, points: [energy_import_kwh]}}
          - {{code: W-NEW, carrier: electricity, commissioned: 2026-09-10,
             points: [energy_import_kwh]}}
  - code: {PLANT}
    name: Castings plant
    industry: C33
    town: Xiqing
    grid_region: north
    sites:
      - code: plant
        meters:
          - {{code: P-E, carrier: electricity, points: [energy_import_kwh]}}
          - {{code: P-SUB, carrier: electricity, role: sub, sub_of: P-E,
             points: [energy_import_kwh]}}
          - {{code: P-HOURLY, carrier: electricity, interval_s: 3600,
             points: [energy_import_kwh]}}
  - code: {STORE}
    name: Cold store
    industry: G59
    town: Jingwu
    grid_region: north
    sites:
      - code: store
        meters:
          - {{code: S-E, carrier: electricity, decommissioned: 2026-09-20,
             points: [energy_import_kwh]}}
          - {{code: S-GAS, carrier: natural_gas, points: [gas_volume_m3]}}
"""
# meter: (quantity, minutes between readings, step per reading, silent spans (local))
FEEDS: dict[str, tuple[str, int, float, list[tuple[datetime, datetime]]]] = {
    "COG": ("gas_volume_m3", 15, 40.0, [(datetime(2026, 9, 14, 3), datetime(2026, 9, 16, 22))]),
    "W-E": ("energy_import_kwh", 15, 12.5, [(datetime(2026, 8, 31, 22), datetime(2026, 9, 1, 2))]),
    "W-NEW": ("energy_import_kwh", 15, 3.0, [(datetime(2026, 8, 25), datetime(2026, 9, 5))]),
    "P-E": ("energy_import_kwh", 15, 20.0, [(datetime(2026, 9, 30, 23), datetime(2026, 10, 1, 1))]),
    "P-SUB": ("energy_import_kwh", 15, 5.0, []),
    "P-HOURLY": ("energy_import_kwh", 60, 7.0, [(datetime(2026, 9, 3), datetime(2026, 9, 4))]),
    "S-E": ("energy_import_kwh", 15, 9.0, [(datetime(2026, 9, 25), datetime(2026, 10, 9))]),
    "S-GAS": ("gas_volume_m3", 15, 2.0, [(datetime(2026, 8, 28, 12), datetime(2026, 8, 29))]),
}
WINDOWS = [
    (FIRST, LAST),
    (datetime(2026, 9, 1, tzinfo=ZONE), datetime(2026, 10, 1, tzinfo=ZONE)),  # exactly a month
    (datetime(2026, 8, 31, 13, 15, tzinfo=ZONE), datetime(2026, 10, 2, 7, 45, tzinfo=ZONE)),
    (datetime(2026, 8, 31, 23, 45, tzinfo=ZONE), datetime(2026, 10, 1, 0, 15, tzinfo=ZONE)),
    (datetime(2026, 9, 1, tzinfo=ZONE), datetime(2026, 10, 5, 10, tzinfo=ZONE)),
    (datetime(2026, 8, 1, tzinfo=ZONE), datetime(2026, 11, 1, tzinfo=ZONE)),  # beyond the data
    (datetime(2026, 9, 3, 5, tzinfo=ZONE), datetime(2026, 9, 28, tzinfo=ZONE)),  # no whole month
    (datetime(2026, 1, 1, tzinfo=ZONE), NOW),  # the year to date
]
SCOPES = [
    Scope(),
    Scope(town="Xiqing"),
    Scope(town="Jingwu"),
    Scope(enterprise=WORKS),
    Scope(enterprise=PLANT, site="plant"),
]
T = TypeVar("T")
Figures = dict[tuple[str, str, str], tuple[float, ...]]


def _windows() -> list[tuple[datetime, datetime]]:
    rng = random.Random(18)
    out = list(WINDOWS)
    for _ in range(6):
        a = FIRST + timedelta(minutes=15 * rng.randrange(0, 40 * 96))
        out.append((a, a + timedelta(minutes=15 * rng.randrange(1, 40 * 96))))
    return out


def _feed(db: DatabaseSettings) -> None:
    writer = ReadingWriter(db)
    for meter, (quantity, minutes, step, silent) in FEEDS.items():
        pid = point_id(db, meter, quantity)
        gaps = [(a.replace(tzinfo=ZONE), b.replace(tzinfo=ZONE)) for a, b in silent]
        rows, ts, value = [], FIRST, 1000.0
        while ts < LAST:
            value += step
            if not any(a <= ts < b for a, b in gaps):
                rows.append((pid, ts, value, ts, 1))
            ts += timedelta(minutes=minutes)
        writer.write(Batch(rows=rows))
    writer.close()


@pytest.fixture(scope="module")
def district(pg_server: str, template_db: str) -> Iterator[Engine]:
    """One database for the module: the tests only read (what they change, they roll back)."""
    name = dbs.clone(pg_server, template_db)
    settings = DatabaseSettings(url=dbs.with_database(pg_server, name), timescale="off")
    engine = make_engine(settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(DISTRICT))
    _feed(settings)
    catch_up(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        dbs.drop(pg_server, name)


def _both(engine: Engine, read: Callable[[Connection], T]) -> tuple[T, T]:
    """``read`` from the rollups as built, then from the 15-minute rows alone (the daily and
    monthly rollups marked as built in another zone, inside a transaction rolled back)."""
    with engine.connect() as conn:
        rolled = read(conn)
        days_zone = conn.execute(rollup_meta.select()).all()
        assert ("days_zone", ZONE.key) in [(r.key, r.value) for r in days_zone]
        conn.execute(
            update(rollup_meta).where(rollup_meta.c.key == "days_zone").values(value="UTC")
        )
        raw = read(conn)
        conn.rollback()
    return rolled, raw


def _figures(rows: list[CarrierTotal]) -> Figures:
    return {
        (t.carrier, t.unit, t.region): (
            t.amount,
            t.kgce.value if t.kgce else -1.0,
            t.tco2.value if t.tco2 else -1.0,
        )
        for t in rows
    }


def _same(a: dict[Any, tuple[float, ...]], b: dict[Any, tuple[float, ...]]) -> None:
    assert a.keys() == b.keys()
    for key, values in a.items():
        assert values == pytest.approx(b[key], rel=1e-12, abs=1e-9), key


def _totals(conn: Connection, start: datetime, end: datetime, scope: Scope) -> Figures:
    return _figures(totals(conn, default_factors(), start=start, end=end, zone=ZONE, scope=scope))


def _periods(
    conn: Connection, start: datetime, end: datetime, interval: str | None
) -> dict[tuple[datetime, datetime], Figures]:
    found = totals_by_period(
        conn, default_factors(), start=start, end=end, zone=ZONE, interval=interval, scope=Scope()
    )
    return {(p.start, p.end): _figures(p.carriers) for p in found}


def _towns(conn: Connection, start: datetime, end: datetime, grouped: bool) -> dict[str, Figures]:
    if grouped:
        found = totals_by_town(conn, default_factors(), start=start, end=end, zone=ZONE)
        return {town: _figures(rows) for town, rows in found.items()}
    each = {town: _totals(conn, start, end, Scope(town=town)) for town in ("Xiqing", "Jingwu")}
    return {town: rows for town, rows in each.items() if rows}


def _consumption(
    conn: Connection, start: datetime, end: datetime, now: datetime, interval: str, scope: Scope
) -> dict[tuple[Any, ...], tuple[float, ...]]:
    rows = consumption(
        conn, start=start, end=end, interval=interval, zone=ZONE, scope=scope, now=now
    )
    return {
        (c.period, c.carrier, c.quantity, c.unit, c.estimated): (c.amount, c.completeness)
        for c in rows
    }


def test_totals_of_long_windows_equal_the_fifteen_minute_sums(district: Engine) -> None:
    for start, end in _windows():
        for scope in SCOPES:
            rolled, raw = _both(district, partial(_totals, start=start, end=end, scope=scope))
            assert rolled or end <= FIRST or start >= LAST
            _same(rolled, raw)


def test_totals_by_month_and_year_equal_the_fifteen_minute_sums(district: Engine) -> None:
    for start, end in _windows():
        for interval in ("1d", "1mo", "1y", None):
            read = partial(_periods, start=start, end=end, interval=interval)
            rolled, raw = _both(district, read)
            assert rolled.keys() == raw.keys()
            for key in rolled:
                _same(rolled[key], raw[key])


def test_one_statement_by_town_answers_what_each_town_answers(district: Engine) -> None:
    for start, end in _windows():
        by_town, _ = _both(district, partial(_towns, start=start, end=end, grouped=True))
        one_by_one, raw = _both(district, partial(_towns, start=start, end=end, grouped=False))
        assert by_town.keys() == one_by_one.keys() == raw.keys()
        for town in by_town:
            _same(by_town[town], one_by_one[town])
            _same(by_town[town], raw[town])


def test_completeness_of_long_windows_equals_the_fifteen_minute_count(district: Engine) -> None:
    for start, end in _windows():
        for now in (NOW, datetime(2026, 9, 25, 12, 10, tzinfo=ZONE)):
            read = partial(point_completeness, start=start, end=end, zone=ZONE, now=now)
            rolled, raw = _both(district, read)
            assert rolled == raw
            assert any(c.expected for c in rolled.values()) or end <= FIRST or start >= now
            for interval in ("1mo", "1y"):
                for scope in SCOPES:
                    rolled_c, raw_c = _both(
                        district,
                        partial(
                            _consumption,
                            start=start,
                            end=end,
                            now=now,
                            interval=interval,
                            scope=scope,
                        ),
                    )
                    _same(rolled_c, raw_c)


def test_a_window_with_a_whole_month_reads_the_monthly_rollups(district: Engine) -> None:
    """The comparisons above would hold if the months were never read: doubling September's
    monthly rows (inside a transaction rolled back) changes September's figures."""
    september = (datetime(2026, 9, 1, tzinfo=ZONE), datetime(2026, 10, 1, tzinfo=ZONE))
    factors = default_factors()
    with district.connect() as conn:
        start, end = september
        before = totals(conn, factors, start=start, end=end, zone=ZONE, scope=Scope())
        measured = point_completeness(conn, start=start, end=end, zone=ZONE, now=NOW)
        conn.execute(
            update(consumption_1mo).values(
                energy=consumption_1mo.c.energy * 2,
                measured_periods=consumption_1mo.c.measured_periods // 2,
            )
        )
        after = totals(conn, factors, start=start, end=end, zone=ZONE, scope=Scope())
        halved = point_completeness(conn, start=start, end=end, zone=ZONE, now=NOW)
        conn.rollback()
    assert {t.carrier: t.amount * 2 for t in before} == pytest.approx(
        {t.carrier: t.amount for t in after}
    )
    # the points that owe all of September (not the one commissioned or the one decommissioned
    # in it, whose days are read instead) count the halved months
    whole = [p for p, c in measured.items() if c.expected in (30 * 96, 30 * 24)]
    assert len(whole) == 5
    assert all(halved[p].measured == measured[p].measured // 2 for p in whole)
