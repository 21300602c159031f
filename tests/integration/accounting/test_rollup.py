"""15-minute consumption stays exactly what the pure functions give for all readings, however and
whenever they arrive; late data re-opens exactly the buckets it touches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.domain.buckets import buckets
from services.core.domain.counters import Reading, intervals
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.support.cli import run_cli

T0 = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)  # 00:00 on the 17th in Shanghai
STEP = timedelta(minutes=15)


def _point(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        return int(
            conn.execute(  # type: ignore[index]
                "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
                "WHERE m.code = 'M-100' AND p.quantity = 'energy_import_kwh'"
            ).fetchone()[0]
        )


def _series(n: int) -> list[Reading]:
    rng = random.Random(5)
    value, out = 1000.0, []
    for i in range(n):
        value += round(rng.uniform(1, 4), 3)
        out.append(Reading(T0 + i * STEP, value))
    return out


def _write(db: DatabaseSettings, pid: int, readings: list[Reading]) -> None:
    writer = ReadingWriter(db)
    writer.write(Batch(rows=[(pid, r.ts, r.value, r.ts, 1) for r in readings]))
    writer.close()


def _table(db: DatabaseSettings, pid: int) -> dict[datetime, tuple[float, int, bool]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT bucket, energy, readings, estimated FROM consumption_15m "
            "WHERE point_id = %s ORDER BY bucket",
            (pid,),
        ).fetchall()
    return {b: (round(e, 6), n, est) for b, e, n, est in rows}


def _expected(readings: list[Reading]) -> dict[datetime, tuple[float, int, bool]]:
    result = buckets(intervals(readings, multiplier=80).intervals, readings, interval_s=900)
    return {k: (round(b.energy, 6), b.readings, b.estimated) for k, b in result.items()}


def test_in_order_late_and_shuffled_delivery_all_end_in_the_same_buckets(
    small_district: DatabaseSettings,
) -> None:
    db, pid = small_district, _point(small_district)
    engine = make_engine(db)
    full = _series(96 * 2)  # two days of 15-minute readings
    gap = full[40:48]  # two hours a gateway could not send
    _write(db, pid, [r for r in full if r not in gap])
    first = catch_up(engine)
    assert first.points == 1
    table = _table(db, pid)
    assert table == _expected([r for r in full if r not in gap])
    assert sum(1 for v in table.values() if v[2]) == 9  # the gap's buckets are estimated
    # a week later the gateway forwards what it stored
    _write(db, pid, gap)
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE consumption_15m SET computed_at = '2000-01-01'")
    catch_up(engine)
    assert _table(db, pid) == _expected(full)
    with psycopg.connect(db.libpq_url) as conn:
        touched = [
            r[0]
            for r in conn.execute(
                "SELECT bucket FROM consumption_15m WHERE computed_at > '2000-01-01' ORDER BY 1"
            )
        ]
    # exactly the buckets around the gap: from the reading before it to the reading after
    assert touched[0] >= full[38].ts - STEP
    assert touched[-1] <= full[49].ts + STEP
    assert len(touched) <= 14
    # re-delivering everything changes nothing and marks nothing
    _write(db, pid, full)
    assert catch_up(engine).ranges == 0
    assert _table(db, pid) == _expected(full)
    engine.dispose()


@pytest.mark.parametrize("seed", [1, 2])
def test_readings_arriving_in_random_batches_give_the_in_order_result(
    small_district: DatabaseSettings, seed: int
) -> None:
    db, pid = small_district, _point(small_district)
    engine = make_engine(db)
    full = _series(96)
    shuffled = list(full)
    random.Random(seed).shuffle(shuffled)
    for i in range(0, len(shuffled), 13):
        _write(db, pid, shuffled[i : i + 13])
        catch_up(engine)
    assert _table(db, pid) == _expected(full)
    engine.dispose()


@pytest.mark.parametrize("shuffle", [False, True])
def test_one_minute_readings_in_small_batches_give_whole_buckets(
    small_district: DatabaseSettings, shuffle: bool
) -> None:
    """A one-minute meter whose readings arrive a few at a time (as gateways send them, or late
    and out of order): each bucket is rewritten whole, never from only the readings around the
    new ones."""
    db, pid = small_district, _point(small_district)
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute("UPDATE points SET interval_s = 60 WHERE id = %s", (pid,))
    rng = random.Random(11)
    value, full = 1000.0, []
    for i in range(3 * 60 + 1):
        value += round(rng.uniform(0.1, 0.4), 3)
        full.append(Reading(T0 + i * timedelta(minutes=1), value))
    order = list(full)
    if shuffle:
        rng.shuffle(order)
    engine = make_engine(db)
    i = 0
    while i < len(order):
        n = rng.randint(1, 4)
        _write(db, pid, order[i : i + n])
        catch_up(engine)
        i += n
    engine.dispose()
    result = buckets(intervals(full, multiplier=80).intervals, full, interval_s=60)
    expected = {k: (round(b.energy, 6), b.readings, b.estimated) for k, b in result.items()}
    assert _table(db, pid) == expected
    assert sum(e for e, _, _ in expected.values()) == pytest.approx(
        (full[-1].value - full[0].value) * 80
    )


def test_recompute_applies_a_corrected_multiplier_to_history(
    small_district: DatabaseSettings,
) -> None:
    db, pid = small_district, _point(small_district)
    full = _series(8)
    _write(db, pid, full)
    engine = make_engine(db)
    catch_up(engine)
    engine.dispose()
    assert _table(db, pid) == _expected(full)  # x80
    with psycopg.connect(db.libpq_url) as conn:  # the transformer ratio was 40, not 80
        conn.execute("UPDATE meters SET multiplier = 40 WHERE code = 'M-100'")
    since = full[4].ts.isoformat()
    result = run_cli(
        "accounting", "recompute", "--since", since, env={"ENERGYMON_DATABASE_URL": db.url}
    )
    assert result.returncode == 0, result.stderr
    assert "1 points marked" in result.stdout
    halved = {k: (round(e / 2, 6), n, est) for k, (e, n, est) in _expected(full).items()}
    table = _table(db, pid)
    # from the bucket of the reading before --since on, the history is at the corrected ratio
    assert {k: v for k, v in table.items() if k >= full[3].ts} == {
        k: v for k, v in halved.items() if k >= full[3].ts
    }
    assert {k: v for k, v in table.items() if k < full[3].ts} == {
        k: v for k, v in _expected(full).items() if k < full[3].ts
    }
