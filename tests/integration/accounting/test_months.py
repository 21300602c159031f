"""Monthly rollups: consumption_1mo is always consumption_1d summed per local month; late data
corrects exactly the month it falls in, and a rebuild gives the same months."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import delete

from services.accounting.days import rebuild_days
from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.schema.tables import consumption_1mo
from services.core.settings import DatabaseSettings
from tests.support.feed import point_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 25, tzinfo=SHANGHAI)  # ten days across the October/November end
COUNT = 96 * 10
OCTOBER_HOLE = range(300, 340)  # 28 Oct, delivered late


def _write(db: DatabaseSettings, pid: int, indexes: range | list[int]) -> None:
    rows = [(pid, START + timedelta(minutes=15 * i), 1000.0 + 2.0 * i, START, 1) for i in indexes]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    engine.dispose()


def _months(db: DatabaseSettings) -> dict[tuple[int, object], tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT point_id, month, round(energy::numeric, 6), readings, expected, estimated, "
            "measured_periods, estimated_periods FROM consumption_1mo"
        ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def _days_summed(db: DatabaseSettings) -> dict[tuple[int, object], tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT point_id, date_trunc('month', day)::date, round(sum(energy)::numeric, 6), "
            "sum(readings), sum(expected), bool_or(estimated), sum(measured_periods), "
            "sum(estimated_periods) FROM consumption_1d GROUP BY 1, 2"
        ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_months_equal_their_days_and_late_data_corrects_only_its_month(
    small_district: DatabaseSettings,
) -> None:
    db = small_district
    pid = point_id(db, "M-100")
    _write(db, pid, [i for i in range(COUNT) if i not in OCTOBER_HOLE])
    before = _months(db)
    assert before == _days_summed(db)
    october, november = (
        (pid, START.date().replace(day=1)),
        (pid, START.date().replace(month=11, day=1)),
    )
    assert set(before) == {october, november}
    # the gap was spread and marked estimated: October has estimated periods, November none
    assert before[october][5] > 0
    assert before[november][5] == 0

    _write(db, pid, OCTOBER_HOLE)
    after = _months(db)
    assert after == _days_summed(db)
    assert after[november] == before[november]
    assert after[october] != before[october]
    assert after[october][5] == 0  # the late readings made the estimated periods measured
    # the month's energy is unchanged in total: the counter difference was spread before
    assert after[october][0] == before[october][0]


def test_rebuilding_the_days_rebuilds_the_same_months(small_district: DatabaseSettings) -> None:
    db = small_district
    _write(db, point_id(db, "M-100"), range(COUNT))
    built = _months(db)
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(delete(consumption_1mo))
        rebuild_days(conn, SHANGHAI)
    engine.dispose()
    assert _months(db) == built == _days_summed(db)
