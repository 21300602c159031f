"""A late batch into a compressed TimescaleDB chunk, and into an uncompressed one.

Issue 20, item 5. Runs only on TimescaleDB: the URL (``--url``, else ENERGYMON_BENCH_TIMESCALE_URL,
else ENERGYMON_TEST_TIMESCALE_URL) names a maintenance database of a server with the extension
installed and preloaded; on plain PostgreSQL there is no compression to measure, and the script
says so and exits 2.

A fresh database is migrated with ENERGYMON_DATABASE_TIMESCALE=on and the default chunk
interval (7 days). POINTS cumulative points get DAYS days of readings every INTERVAL seconds,
ending now, loaded server-side (``INSERT ... SELECT generate_series``); LATE points miss one hour
twice: on day 3 (a chunk that is then compressed) and two days ago (the newest chunk, left
uncompressed). The rollups are computed for everything (``catch_up``), then every chunk of
``readings``, ``consumption_15m`` and ``consumption_1d`` older than the newest is compressed.

Each missing hour is then delivered as a gateway delivering late does: through
``ReadingWriter`` (the idempotent ``INSERT ... ON CONFLICT``), then ``catch_up`` rewrites the
buckets and days it touches (DELETE and INSERT on the rollup hypertables). Timed separately,
for the uncompressed and the compressed chunk. Then the chunk the late batch reached is
compressed again (``compress_chunk``) and timed: the work the compression policy does on its next
run. Checks: the late readings are all stored, nothing is left dirty, and each late point's
energy over the two days around the hour equals its counter's rise.

Usage: .venv/bin/python bench/timescale_late.py [--url URL] [--points 200] [--days 28]
       [--interval-s 900] [--late 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.schema.migrate import upgrade
from services.core.schema.storage_plan import PRELOAD_HINT, preloaded
from services.core.settings import DatabaseSettings
from tests.support import db as dbs

REGISTRY = """
INSERT INTO enterprises (code, name, industry, town) VALUES
    ('E00000000000000001', 'Bench enterprise', 'C33', 'Xinkou');
INSERT INTO sites (enterprise_id, code, name, kind)
SELECT id, 'plant', 'Plant', 'industrial' FROM enterprises;
INSERT INTO meters (enterprise_id, site_id, code, carrier, protocol, role)
SELECT s.enterprise_id, s.id, 'M-' || i, 'electricity', 'mqtt', 'sub'
FROM sites s CROSS JOIN generate_series(1, %(points)s) i ORDER BY i;
INSERT INTO points (meter_id, quantity, unit, kind, interval_s)
SELECT id, 'energy_import_kwh', 'kWh', 'cumulative', %(interval_s)s FROM meters ORDER BY id
"""

# A counter rising by a rate per point (kWh per step) with no jitter: every interval is exact,
# so the energy over any window is the counter's rise.
READINGS = """
INSERT INTO readings (point_id, ts, value, received_at, source)
SELECT p.id, %(t0)s + k * %(iv)s * interval '1 second', 1000.0 + k * (1.0 + p.id %% 7),
       %(t0)s + k * %(iv)s * interval '1 second', 1
FROM generate_series(0, %(steps)s - 1) k CROSS JOIN points p
WHERE NOT (p.id <= %(late)s AND ((k >= %(a0)s AND k < %(a1)s) OR (k >= %(b0)s AND k < %(b1)s)))
ORDER BY k, p.id
"""

DIRTY_ALL = """
INSERT INTO rollup_dirty (point_id, from_ts, to_ts)
SELECT point_id, min(ts), max(ts) FROM readings GROUP BY point_id
"""

COMPRESS_OLD = """
SELECT compress_chunk(format('%%I.%%I', chunk_schema, chunk_name)::regclass,
                      if_not_compressed => true)
FROM timescaledb_information.chunks
WHERE hypertable_name = ANY(%(tables)s) AND range_end < %(newest)s
"""


@dataclass(frozen=True)
class Gap:
    name: str
    k0: int
    k1: int


def _url(args: argparse.Namespace) -> str | None:
    return (
        args.url
        or os.environ.get("ENERGYMON_BENCH_TIMESCALE_URL")
        or os.environ.get("ENERGYMON_TEST_TIMESCALE_URL")
    )


def _not_timescale(url: str) -> str | None:
    """Why the server at ``url`` cannot run this benchmark, or None."""
    with psycopg.connect(url) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        libraries = conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'"
        ).fetchone()
    if available is None:
        return "the server has no timescaledb extension (plain PostgreSQL)"
    if libraries is not None and not preloaded(str(libraries[0])):
        return f"timescaledb is not in shared_preload_libraries ({PRELOAD_HINT})"
    return None


def _load(db: DatabaseSettings, args: argparse.Namespace, t0: datetime, gaps: list[Gap]) -> None:
    steps = args.days * 86_400 // args.interval_s
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        for statement in REGISTRY.split(";"):
            conn.execute(statement, {"points": args.points, "interval_s": args.interval_s})
        started = time.perf_counter()
        conn.execute(
            READINGS,
            {
                "t0": t0,
                "iv": args.interval_s,
                "steps": steps,
                "late": args.late,
                "a0": gaps[0].k0,
                "a1": gaps[0].k1,
                "b0": gaps[1].k0,
                "b1": gaps[1].k1,
            },
        )
        conn.execute(DIRTY_ALL)
        print(
            f"loaded {args.points} points x {steps} steps in {time.perf_counter() - started:.1f} s"
        )
    engine = make_engine(db)
    started = time.perf_counter()
    stats = catch_up(engine)
    engine.dispose()
    print(f"rollups: {stats.buckets_written} buckets in {time.perf_counter() - started:.1f} s")


def _compress_old(db: DatabaseSettings, newest: datetime) -> None:
    tables = ["readings", "consumption_15m", "consumption_1d"]
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(COMPRESS_OLD, {"tables": tables, "newest": newest})
        rows = conn.execute(
            "SELECT hypertable_name, count(*) FILTER (WHERE is_compressed), count(*) "
            "FROM timescaledb_information.chunks WHERE hypertable_name = ANY(%s) "
            "GROUP BY 1 ORDER BY 1",
            (tables,),
        ).fetchall()
    print(
        f"compressed in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{t} {c}/{n} chunks" for t, c, n in rows)
    )


def _deliver(
    db: DatabaseSettings, args: argparse.Namespace, t0: datetime, gap: Gap
) -> tuple[float, float, bool]:
    """Write the gap's readings through the writer and catch the rollups up; the two times and
    whether every reading was stored."""
    with psycopg.connect(db.libpq_url) as conn:
        pids = [r[0] for r in conn.execute("SELECT id FROM points WHERE id <= %s", (args.late,))]
    now = datetime.now(UTC)
    rows = [
        (pid, t0 + timedelta(seconds=k * args.interval_s), 1000.0 + k * (1.0 + pid % 7), now, 1)
        for k in range(gap.k0, gap.k1)
        for pid in pids
    ]
    writer = ReadingWriter(db)
    started = time.perf_counter()
    result = writer.write(Batch(rows=rows))
    write_s = time.perf_counter() - started
    writer.close()
    engine = make_engine(db)
    started = time.perf_counter()
    catch_up(engine)
    rollup_s = time.perf_counter() - started
    engine.dispose()
    return write_s, rollup_s, result.inserted == len(rows)


def _recompress(db: DatabaseSettings, at: datetime) -> float | str:
    """Compress again the readings chunk holding ``at`` (what the policy's next run does)."""
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        chunk = conn.execute(
            "SELECT format('%%I.%%I', chunk_schema, chunk_name) FROM "
            "timescaledb_information.chunks WHERE hypertable_name = 'readings' "
            "AND range_start <= %s AND range_end > %s",
            (at, at),
        ).fetchone()
        assert chunk is not None
        started = time.perf_counter()
        try:
            conn.execute("SELECT compress_chunk(CAST(%s AS regclass))", (chunk[0],))
        except psycopg.Error as err:
            return f"failed: {str(err).splitlines()[0]}"
        return time.perf_counter() - started


def _checks(db: DatabaseSettings, args: argparse.Namespace, t0: datetime, gaps: list[Gap]) -> bool:
    ok = True
    with psycopg.connect(db.libpq_url) as conn:
        dirty = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()
        ok &= dirty == (0,)
        for gap in gaps:
            lo = gap.k0 - 86_400 // args.interval_s
            hi = gap.k1 + 86_400 // args.interval_s
            for (pid,) in conn.execute("SELECT id FROM points WHERE id <= %s", (args.late,)):
                got = conn.execute(
                    "SELECT coalesce(sum(energy), 0) FROM consumption_15m "
                    "WHERE point_id = %s AND bucket >= %s AND bucket < %s",
                    (
                        pid,
                        t0 + timedelta(seconds=lo * args.interval_s),
                        t0 + timedelta(seconds=hi * args.interval_s),
                    ),
                ).fetchone()
                assert got is not None
                want = (hi - lo) * (1.0 + pid % 7)
                ok &= abs(float(got[0]) - want) < 1e-6 * want
    print(f"checks: {'ok' if ok else 'FAILED'} (nothing dirty; late points' energy = counter rise)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="maintenance database URL of a TimescaleDB server")
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--interval-s", type=int, default=900)
    parser.add_argument("--late", type=int, default=50, help="points that deliver late")
    args = parser.parse_args()
    url = _url(args)
    if url is None:
        print(
            "bench/timescale_late.py measures TimescaleDB compression and cannot run on plain "
            "PostgreSQL: give --url (or ENERGYMON_BENCH_TIMESCALE_URL / "
            "ENERGYMON_TEST_TIMESCALE_URL) of a TimescaleDB server"
        )
        return 2
    reason = _not_timescale(url)
    if reason is not None:
        print(f"bench/timescale_late.py cannot run on this server: {reason}")
        return 2
    per_hour = 3600 // args.interval_s
    per_day = 86_400 // args.interval_s
    steps = args.days * per_day
    gaps = [
        Gap("compressed chunk (day 3)", 2 * per_day + 12 * per_hour, 2 * per_day + 13 * per_hour),
        Gap("uncompressed chunk (2 days ago)", steps - 2 * per_day, steps - 2 * per_day + per_hour),
    ]
    t0 = (datetime.now(UTC) - timedelta(days=args.days)).replace(minute=0, second=0, microsecond=0)
    name = f"energymon_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        # compress-after beyond the window: the policy compresses nothing behind the bench's back
        db = DatabaseSettings(
            url=dbs.with_database(url, name), timescale="on", compress_after_days=args.days + 30
        )
        engine = make_engine(db)
        upgrade(engine, db)
        engine.dispose()
        _load(db, args, t0, gaps)
        _compress_old(db, datetime.now(UTC) - timedelta(days=7))
        print(f"late batch: {args.late} points x 1 h = {args.late * per_hour} readings")
        for gap in reversed(gaps):
            write_s, rollup_s, stored = _deliver(db, args, t0, gap)
            print(
                f"  into the {gap.name}: write {write_s * 1000:.0f} ms, rollups "
                f"{rollup_s * 1000:.0f} ms, all stored: {stored}"
            )
        recompress = _recompress(db, t0 + timedelta(seconds=gaps[0].k0 * args.interval_s))
        shown = recompress if isinstance(recompress, str) else f"{recompress * 1000:.0f} ms"
        print(f"  compressing that readings chunk again: {shown}")
        ok = _checks(db, args, t0, gaps)
    finally:
        dbs.drop(url, name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
