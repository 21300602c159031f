"""Completeness from the rollups equals the pure definition over the same buckets, for windows
starting and ending anywhere (whole days from consumption_1d, edges from consumption_15m); the
registry's service dates and a changed declared interval are taken into account."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from alembic import command
from sqlalchemy import select

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.domain.budget import BudgetVerdict, budget_verdict
from services.core.domain.completeness import (
    ServiceSpan,
    collection_period_s,
)
from services.core.domain.completeness import (
    point_completeness as pure_completeness,
)
from services.core.domain.pue import PueVerdict, pue_verdict
from services.core.errors import RegistryError
from services.core.factors import default_factors
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import BudgetSpec, parse_district
from services.core.registry.store import apply_district, set_budget
from services.core.schema.migrate import alembic_config
from services.core.schema.tables import consumption_15m
from services.core.settings import DatabaseSettings
from services.core.store.budgets import statuses
from services.core.store.completeness import point_completeness
from services.core.store.consumption import consumption
from services.core.store.pue import site_pue
from services.core.store.scope import Scope
from tests.integration.conftest import ENT_A, ENT_B, FIXTURES
from tests.support.feed import feed_counter, point_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 27, 20, 0, tzinfo=SHANGHAI)
DAYS = 6
LATER = START + timedelta(days=60)


def _set_interval(db: DatabaseSettings, pid: int, interval_s: int) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE points SET interval_s = %s WHERE id = %s", (interval_s, pid))


def _write(db: DatabaseSettings, pid: int, step_min: int, silent: list[tuple[int, int]]) -> None:
    """A counter read every ``step_min`` for DAYS days, silent over the (from, to) hours."""
    rows, value, ts = [], 5000.0, START
    while ts < START + timedelta(days=DAYS):
        value += 1.5
        hour = (ts - START).total_seconds() / 3600
        if not any(a <= hour < b for a, b in silent):
            rows.append((pid, ts, value, ts, 1))
        ts += timedelta(minutes=step_min)
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()


@pytest.fixture
def fed(small_district: DatabaseSettings) -> DatabaseSettings:
    """A 5-minute meter declared 900 s silent for a day and at the end, an hourly meter with a
    gap, a 15-minute meter that starts on the third day."""
    five, hourly, late = (point_id(small_district, m) for m in ("DC-IN-1", "DC-IT-1", "M-100"))
    _set_interval(small_district, hourly, 3600)
    _write(small_district, five, 5, [(30, 54), (130, 999)])
    _write(small_district, hourly, 60, [(10, 17)])
    _write(small_district, late, 15, [(0, 50)])
    engine = make_engine(small_district)
    catch_up(engine)
    engine.dispose()
    return small_district


def _pure(db: DatabaseSettings, pid: int, start: datetime, end: datetime, now: datetime):  # type: ignore[no-untyped-def]
    engine = make_engine(db)
    with engine.connect() as conn:
        c = consumption_15m.c
        rows = [
            (r.bucket, r.readings, r.estimated)
            for r in conn.execute(
                select(c.bucket, c.readings, c.estimated).where(c.point_id == pid)
            )
        ]
        interval_s = conn.exec_driver_sql(
            "SELECT interval_s FROM points WHERE id = %(p)s", {"p": pid}
        ).scalar_one()
    engine.dispose()
    period = collection_period_s(int(interval_s))
    span = ServiceSpan.of(
        start=start,
        end=end,
        now=now,
        zone=SHANGHAI,
        period_s=period,
        first_data=min((b for b, _, _ in rows), default=None),
    )
    return pure_completeness(pid, rows, span, period_s=period, zone=SHANGHAI)


def test_the_rollups_answer_what_the_definition_says_for_windows_anywhere(
    fed: DatabaseSettings,
) -> None:
    pids = [point_id(fed, m) for m in ("DC-IN-1", "DC-IT-1", "M-100")]
    rng = random.Random(15)
    windows = [(START, START + timedelta(days=DAYS), LATER)]
    for _ in range(12):
        a = START + timedelta(minutes=rng.randrange(-600, DAYS * 1440))
        b = a + timedelta(minutes=rng.randrange(7, 4 * 1440))
        now = b + timedelta(minutes=rng.choice([-300, 0, 10_000]))
        windows.append((a, b, now))
    engine = make_engine(fed)
    for a, b, now in windows:
        with engine.connect() as conn:
            got = point_completeness(conn, point_ids=pids, start=a, end=b, zone=SHANGHAI, now=now)
        for pid in pids:
            assert got[pid] == _pure(fed, pid, a, b, now), (pid, a, b, now)
    engine.dispose()


def test_a_week_of_the_issue_s_five_minute_meter_is_counted_in_periods(
    fed: DatabaseSettings,
) -> None:
    five, hourly, late = (point_id(fed, m) for m in ("DC-IN-1", "DC-IT-1", "M-100"))
    engine = make_engine(fed)
    with engine.connect() as conn:
        got = point_completeness(
            conn,
            point_ids=[five, hourly, late],
            start=START,
            end=START + timedelta(days=DAYS),
            zone=SHANGHAI,
            now=LATER,
        )
    engine.dispose()
    # 5-minute meter: 576 periods; hours 30-54 (96 periods) gap-filled when it came back,
    # hours 130-144 (56 periods) missing; 576 - 96 - 56 = 424 measured
    assert (got[five].expected, got[five].measured, got[five].estimated) == (576, 424, 96)
    # hourly: 144 hours, 10:00-16:00 of its clock missing and gap-filled (7 hours)
    assert (got[hourly].expected, got[hourly].measured, got[hourly].estimated) == (144, 137, 7)
    # from its first reading at hour 50: 94 hours = 376 periods, all measured
    assert (got[late].expected, got[late].measured) == (376, 376)


def test_registered_service_dates_bound_what_a_meter_owes(small_district: DatabaseSettings) -> None:
    text = (FIXTURES / "district_small.yaml").read_text()
    dated = text.replace(
        "{code: DC-IT-1, carrier: electricity,",
        "{code: DC-IT-1, commissioned: 2026-10-27, decommissioned: 2026-10-31, "
        "carrier: electricity,",
    )
    engine = make_engine(small_district)
    with engine.begin() as conn:
        apply_district(conn, parse_district(dated))
    it = point_id(small_district, "DC-IT-1")
    _write(small_district, it, 15, [(0, 24)])  # first reading a day after START (28 Oct 20:00)
    catch_up(engine)
    with engine.connect() as conn:
        got = point_completeness(
            conn,
            point_ids=[it],
            start=datetime(2026, 10, 26, tzinfo=SHANGHAI),
            end=datetime(2026, 11, 5, tzinfo=SHANGHAI),
            zone=SHANGHAI,
            now=LATER,
        )[it]
    engine.dispose()
    # owed from 27 Oct 00:00 (registered) to 31 Oct 00:00: 4 days = 384 periods; measured from
    # 28 Oct 20:00 to 31 Oct 00:00: 52 hours = 208 (its readings after the 31st do not count)
    assert (got.expected, got.measured) == (384, 208)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("commissioned: 2026-10-31, decommissioned: 2026-10-27", "after commissioned"),
        ("commissioned: 2026-10-27T10:00:00+08:00", "without a time"),
    ],
)
def test_service_dates_are_checked(fields: str, message: str) -> None:
    text = (FIXTURES / "district_small.yaml").read_text()
    bad = text.replace("{code: DC-IT-1,", "{code: DC-IT-1, " + fields + ",")
    with pytest.raises(RegistryError, match=message):
        parse_district(bad)


def test_a_changed_declared_interval_recounts_the_days(fed: DatabaseSettings) -> None:
    hourly = point_id(fed, "DC-IT-1")
    text = (FIXTURES / "district_small.yaml").read_text()
    engine = make_engine(fed)
    with engine.begin() as conn:  # the file declares the default 900 s: 15-minute periods
        apply_district(conn, parse_district(text))
    catch_up(engine)
    whole_day = date(2026, 10, 29)
    with engine.connect() as conn:
        got = point_completeness(
            conn,
            point_ids=[hourly],
            start=datetime.combine(whole_day, datetime.min.time(), SHANGHAI),
            end=datetime.combine(whole_day, datetime.min.time(), SHANGHAI) + timedelta(days=1),
            zone=SHANGHAI,
            now=LATER,
        )[hourly]
    engine.dispose()
    # hourly readings counted in 15-minute periods: one bucket an hour holds a reading; at a
    # declared 900 s an hour between readings is a gap (> 1.5 x 900 s), so the other three
    # are estimated (still counted at the old hourly period they would be 24, 0)
    assert (got.expected, got.measured, got.estimated) == (96, 24, 72)


T0 = datetime(2026, 11, 17, tzinfo=SHANGHAI)
T100 = T0 + timedelta(minutes=15 * 100)  # 100 expected periods from the first reading


@pytest.mark.parametrize(
    ("it_periods", "verdict"), [(90, PueVerdict.OVER), (89, PueVerdict.INSUFFICIENT_DATA)]
)
def test_a_pue_on_90_percent_of_the_it_periods_is_a_finding_and_on_89_it_is_not(
    small_district: DatabaseSettings, it_periods: int, verdict: PueVerdict
) -> None:
    feed_counter(small_district, "DC-IN-1", T0, 101, 1000.0, 13.0)
    feed_counter(small_district, "DC-IT-1", T0, it_periods, 1000.0, 10.0)
    engine = make_engine(small_district)
    with engine.connect() as conn:
        r = site_pue(conn, enterprise=ENT_A, site="dc-1", start=T0, end=T100, now=LATER)
    engine.dispose()
    assert r.it_coverage == it_periods / 100
    assert pue_verdict(r, 1.25) is verdict
    assert (r.ratio is None) is (verdict is PueVerdict.INSUFFICIENT_DATA)


@pytest.mark.parametrize(
    ("periods", "verdict", "sufficient"),
    [(90, BudgetVerdict.WITHIN, True), (89, BudgetVerdict.INSUFFICIENT_DATA, False)],
)
def test_a_budget_on_89_percent_of_its_data_says_so(
    small_district: DatabaseSettings, periods: int, verdict: BudgetVerdict, sufficient: bool
) -> None:
    engine = make_engine(small_district)
    with engine.begin() as conn:
        set_budget(
            conn, ENT_B, BudgetSpec(year=2026, amount=1e9, unit="kWh", carrier="electricity")
        )
    feed_counter(small_district, "B-1", T0, periods, 1000.0, 5.0)
    with engine.connect() as conn:
        [(_, status)] = statuses(
            conn, default_factors(), now=T100, zone=SHANGHAI, thresholds=(0.8, 0.9)
        )
    engine.dispose()
    assert status.coverage == periods / 100
    assert status.data_sufficient is sufficient
    assert budget_verdict(status) is verdict


@pytest.mark.parametrize("meter", ["DC-IN-1", "DC-IT-1"])
def test_consumption_by_day_reports_the_same_completeness_as_the_definition(
    fed: DatabaseSettings, meter: str
) -> None:
    pid = point_id(fed, meter)
    engine = make_engine(fed)
    with engine.connect() as conn:
        rows = consumption(
            conn,
            start=START,
            end=START + timedelta(days=DAYS),
            interval="1d",
            zone=SHANGHAI,
            scope=Scope(enterprise=ENT_A, meter=meter),
            now=LATER,
        )
        for row in rows:
            day_end = min(
                datetime.combine(
                    row.period.date() + timedelta(days=1), datetime.min.time(), SHANGHAI
                ),
                START + timedelta(days=DAYS),
            )
            lo = max(row.period, START)
            want = point_completeness(
                conn, point_ids=[pid], start=lo, end=day_end, zone=SHANGHAI, now=LATER
            )[pid]
            assert row.completeness == pytest.approx(want.share), (meter, row.period)
    engine.dispose()
    # the 5-minute meter's last day (silent from hour 130) is short of data, and says so
    assert meter != "DC-IN-1" or rows[-1].completeness < 0.9


def test_migration_0015_counts_existing_days_as_the_accounting_service_does(
    fed: DatabaseSettings,
) -> None:
    def counts() -> list[tuple[object, ...]]:
        with psycopg.connect(fed.libpq_url) as conn:
            return conn.execute(
                "SELECT point_id, day, measured_periods, estimated_periods FROM consumption_1d "
                "ORDER BY 1, 2"
            ).fetchall()

    written = counts()
    assert any(m for _, _, m, _ in written)
    assert any(e for _, _, _, e in written)
    cfg = alembic_config(fed)
    command.downgrade(cfg, "0014")
    command.upgrade(cfg, "head")
    assert counts() == written
