"""Rollups at district scale: late-batch catch-up and the query latency the API sees.

Issue 4: POINTS cumulative points (default 10,000) with DAYS (30) days of INTERVAL (60 s)
readings. A fresh migrated database gets a registry of a few hundred enterprises (each with a
plant of boundary incomers, a gas meter and sub-meters; every fifth also a data centre with
facility_total and it_load meters). Loading hundreds of millions of readings through the writer
would take hours, so the load is server-side SQL: readings from a closed-form counter (a daily
load shape, monotonic, jittered) with ``INSERT ... SELECT generate_series`` in time order, the
primary key built afterwards; 15-minute rollups from the same formula (set-based), daily rollups
with the project's ``rebuild_days``. ``readings`` is UNLOGGED during the run: nothing timed writes
it except the late batch, which is not timed. The query targets (TARGETS enterprises with a data
centre) also get a year of 15-minute and daily rollups before the raw window, so the year-long
queries read a real year.

(a) Late batch: 1 % of the points (LATE_SHARE) miss one hour in the middle of day 10 from the
start. That hour is written back through ``ReadingWriter`` in ingest-sized batches, as a gateway
delivering late does, so ``rollup_dirty`` is filled the production way, and ``catch_up`` is timed
until nothing is dirty. Ceilings in the same run: (1) the set-based recomputation of exactly the
touched buckets and days (one ``INSERT ... SELECT ... GROUP BY`` each, rolled back), (2)
``recompute_point`` over the late points' whole range (rolled back). Then the same dirty ranges
are queued again and both are repeated warm. Checks: the late points' buckets equal the full
recomputation and the set-based one, their energy equals their counters' rise, nothing is left
dirty, and ``consumption_1d`` equals ``consumption_15m`` summed per local day (Asia/Shanghai).

(b) Query latency, p50/p95 over RUNS runs rotating over the targets, sequential and with
CONCURRENCY threads, through the functions the API calls: a site's daily consumption over a
year (``consumption``, interval 1d, ``Scope(enterprise, site)``), an enterprise's monthly tce for
a year (``totals_by_period`` by local month, as one ``/energy/periods?interval=1mo`` request),
and a data centre's year-to-date PUE (``site_pue`` with the zone). Ceiling: the very SQL
statements those calls issued, replayed with psycopg on an open connection (no pool, no
SQLAlchemy, no Python arithmetic).

(c) Steady state: the next reading of STEADY_POINTS points arrives through ``ReadingWriter`` and
one ``catch_up`` pass rolls them up, as the accounting service does every
ENERGYMON_ACCOUNTING_INTERVAL_S; wall time and CPU per point (this process's Python and the
database's backends, read from /proc) are printed, and the readings are taken out again.

After loading, the tables' sizes per row and per point-year are printed (bench/storage.py), with
readings also written the production way (primary key in place, time order across points) for a
sample, since the benchmark's own key is built after its load and is more compact than one grown
by ingest.

Usage: .venv/bin/python bench/rollups.py [--points 10000] [--days 30] [--interval-s 60]
       [--late-share 0.01] [--runs 200] [--concurrency 4] [--targets 10] [--max-seconds 45]
       [--queries-only] [--explain] [--steady-points 1000] [--database NAME]
With --database NAME the loaded database is kept under that name and a later run with the same
name measures it again without loading (the late hour is taken out again first).
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL, 127.0.0.1:5432, or a private server) and disk:
about 100 bytes per reading (the issue's size, 432 M readings, needs ~45 GB).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import Connection, Engine, event

from bench import storage
from services.accounting.days import rebuild_days
from services.accounting.recompute import recompute_point
from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.factors import default_factors
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings, IngestSettings
from services.core.store.consumption import consumption, totals_by_period
from services.core.store.pue import site_pue
from services.core.store.scope import Scope
from tests.support import db as dbs
from tests.support.services import Private, resolve_postgres

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Shanghai")
POINTS_PER_ENTERPRISE = 33  # 10,000 points -> 303 enterprises
DC_EVERY = 5  # every fifth enterprise also runs a data centre
ROWS_PER_STATEMENT = 600_000
BYTES_PER_READING = 100  # heap ~65 + primary key ~30 + slack, measured on this schema
TOLERANCE_KWH = 1e-6
SOURCE_MQTT = 1

REGISTRY = """
INSERT INTO enterprises (code, name, industry, town, grid_region)
SELECT 'E' || lpad(e::text, 17, '0'), 'Enterprise ' || e, CASE WHEN e %% 5 = 1 THEN 'I65'
       ELSE 'C33' END, (ARRAY['Xinkou', 'Dongli', 'Beichen', 'Jinnan'])[1 + e %% 4], 'north'
FROM generate_series(1, %(enterprises)s) e;
INSERT INTO sites (enterprise_id, code, name, kind)
SELECT id, 'plant', 'Plant', 'industrial' FROM enterprises;
INSERT INTO sites (enterprise_id, code, name, kind, dc_class)
SELECT id, 'dc-1', 'Data centre', 'data_centre',
       CASE WHEN id %% 2 = 0 THEN 'existing' ELSE 'new_large' END
FROM enterprises WHERE right(code, 9)::int %% %(dc_every)s = 1;
CREATE TABLE bench_layout AS
SELECT i, e, j, e %% %(dc_every)s = 1 AS dc FROM (
    SELECT i, (i - 1) / %(per)s + 1 AS e, (i - 1) %% %(per)s AS j
    FROM generate_series(1, %(points)s) i) x;
INSERT INTO meters (enterprise_id, site_id, code, carrier, protocol, role, created_at)
SELECT en.id, s.id, 'M-' || l.j,
       CASE WHEN NOT (l.dc AND l.j < 8) AND l.j %% 8 = 1 THEN 'natural_gas' ELSE 'electricity' END,
       'mqtt',
       CASE WHEN l.dc AND l.j < 2 THEN 'facility_total' WHEN l.dc AND l.j < 8 THEN 'it_load'
            WHEN l.j %% 8 IN (0, 1) THEN 'boundary' ELSE 'sub' END,
       %(created)s
FROM bench_layout l JOIN enterprises en ON en.code = 'E' || lpad(l.e::text, 17, '0')
JOIN sites s ON s.enterprise_id = en.id
 AND s.code = CASE WHEN l.dc AND l.j < 8 THEN 'dc-1' ELSE 'plant' END
ORDER BY l.i;
INSERT INTO points (meter_id, quantity, unit, kind, interval_s)
SELECT id, CASE WHEN carrier = 'natural_gas' THEN 'gas_volume_m3' ELSE 'energy_import_kwh' END,
       CASE WHEN carrier = 'natural_gas' THEN 'm3' ELSE 'kWh' END, 'cumulative', %(interval_s)s
FROM meters ORDER BY id;
CREATE TABLE bench_rate AS
SELECT p.id AS point_id,
       CASE m.role WHEN 'facility_total' THEN 300.0 + p.id %% 40 WHEN 'it_load' THEN 80.0
            ELSE 5.0 + (p.id %% 97) * 3 END AS rate,
       false AS late
FROM points p JOIN meters m ON m.id = p.meter_id;
ALTER TABLE bench_rate ADD PRIMARY KEY (point_id)
"""

# The counter of point p at step k (k * interval s after the start): average rate (kW, or m3/h)
# times a daily shape of +-40 % whose integral is s - A cos(2 pi s / 1 day + phase), plus a jitter
# smaller than the smallest step, so the counter always rises and no two intervals are equal.
# Deterministic: the late batch and the 15-minute rows use the same expression.
COUNTER = """(1000.0 * ({p} %% 13) + {rate} / 3600.0 * (({k})::float8 * {iv}
    - 5500.39 * cos(2 * pi() * ({k})::float8 * {iv} / 86400 + {p}))
    + (({p}::bigint * 104729 + ({k} + 100000000)::bigint * 7919) %% 1000) / 1000.0
      * 0.2 * {rate} * {iv} / 3600.0)"""

READINGS = """
INSERT INTO readings (point_id, ts, value, received_at, source)
SELECT r.point_id, %(t0)s + k * %(iv)s * interval '1 second', {value},
       %(t0)s + k * %(iv)s * interval '1 second' + interval '7 seconds', 1
FROM generate_series(%(k0)s::int, %(k1)s::int - 1) k CROSS JOIN bench_rate r
WHERE NOT (r.late AND k >= %(gap0)s AND k < %(gap1)s)
ORDER BY k, r.point_id
"""

HELD_BACK = """
SELECT r.point_id, %(t0)s + k * %(iv)s * interval '1 second', {value}
FROM generate_series(%(gap0)s::int, %(gap1)s::int - 1) k CROSS JOIN bench_rate r
WHERE r.late ORDER BY k, r.point_id
"""

# Bucket b of the window covers steps [b * spb, (b + 1) * spb); its energy is the counter's rise
# to the first reading of the next bucket (the last bucket: to the last reading).
BUCKETS = """
INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, estimated)
SELECT r.point_id, %(t0)s + b * interval '15 minutes',
       {value_next} - {value_first}, least(%(spb)s, %(steps)s - b * %(spb)s), %(spb)s, false
FROM generate_series(%(b0)s::int, %(b1)s::int - 1) b CROSS JOIN bench_rate r
WHERE r.point_id = ANY(%(pids)s)
"""

# The set-based rollup of given (point, first bucket, last bucket) ranges from the raw readings:
# each interval between consecutive readings spread over the buckets it covers in proportion to
# time, estimated when longer than 1.5 reading intervals; readings counted per bucket. The same
# arithmetic as domain/buckets.py for rising counters (no rollover/reset/spike rules).
SET_BASED_15M = """
WITH t AS (
    SELECT * FROM unnest(%(pids)s::int[], %(lo)s::timestamptz[], %(hi)s::timestamptz[])
        AS t(point_id, lo, hi)
), r AS (
    SELECT t.point_id, t.lo, t.hi, x.ts, x.value,
           lead(x.ts) OVER w AS nts, lead(x.value) OVER w AS nv
    FROM t CROSS JOIN LATERAL (
        SELECT ts, value FROM readings
        WHERE point_id = t.point_id
          AND ts >= coalesce((SELECT max(ts) FROM readings
                              WHERE point_id = t.point_id AND ts < t.lo), t.lo)
          AND ts <= coalesce((SELECT min(ts) FROM readings WHERE point_id = t.point_id
                              AND ts >= t.hi + interval '15 minutes'),
                             t.hi + interval '15 minutes')) x
    WINDOW w AS (PARTITION BY t.point_id ORDER BY x.ts)
), spread AS (
    SELECT r.point_id, b AS bucket,
           (r.nv - r.value) * m.multiplier::float8
           * extract(epoch FROM least(b + interval '15 minutes', r.nts) - greatest(b, r.ts))
           / extract(epoch FROM r.nts - r.ts) AS energy,
           extract(epoch FROM r.nts - r.ts) > 1.5 * p.interval_s AS gap
    FROM r JOIN points p ON p.id = r.point_id JOIN meters m ON m.id = p.meter_id
    CROSS JOIN LATERAL generate_series(date_bin('15 minutes', r.ts, '2000-01-01'),
                                       r.nts - interval '1 microsecond', '15 minutes') b
    WHERE r.nts IS NOT NULL AND b >= r.lo AND b <= r.hi
), summed AS (
    SELECT point_id, bucket, sum(energy) AS energy, bool_or(gap) AS estimated
    FROM spread GROUP BY 1, 2
), counted AS (
    SELECT point_id, date_bin('15 minutes', ts, '2000-01-01') AS bucket, count(*) AS n
    FROM r WHERE ts >= lo AND ts < hi + interval '15 minutes' GROUP BY 1, 2
)
INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, estimated)
SELECT point_id, bucket, coalesce(s.energy, 0), coalesce(c.n, 0),
       greatest(1, 900 / p.interval_s), coalesce(s.estimated, false)
FROM summed s FULL JOIN counted c USING (point_id, bucket) JOIN points p ON p.id = point_id
"""
SET_BASED_DELETE_15M = """
DELETE FROM consumption_15m c USING unnest(%(pids)s::int[], %(lo)s::timestamptz[],
    %(hi)s::timestamptz[]) AS t(point_id, lo, hi)
WHERE c.point_id = t.point_id AND c.bucket >= t.lo AND c.bucket <= t.hi
"""
SET_BASED_DELETE_1D = """
DELETE FROM consumption_1d d USING unnest(%(pids)s::int[], %(lo)s::timestamptz[],
    %(hi)s::timestamptz[]) AS t(point_id, lo, hi)
WHERE d.point_id = t.point_id AND d.day >= (t.lo AT TIME ZONE %(zone)s)::date
  AND d.day <= (t.hi AT TIME ZONE %(zone)s)::date
"""
SET_BASED_1D = """
INSERT INTO consumption_1d (point_id, day, energy, readings, expected, estimated)
SELECT c.point_id, (c.bucket AT TIME ZONE %(zone)s)::date, sum(c.energy), sum(c.readings),
       sum(c.expected), bool_or(c.estimated)
FROM consumption_15m c JOIN (
    SELECT DISTINCT point_id, g::date AS d FROM unnest(%(pids)s::int[], %(lo)s::timestamptz[],
        %(hi)s::timestamptz[]) AS t(point_id, lo, hi)
    CROSS JOIN LATERAL generate_series((lo AT TIME ZONE %(zone)s)::date,
                                       (hi AT TIME ZONE %(zone)s)::date, interval '1 day') g) t
  ON c.point_id = t.point_id AND c.bucket >= (t.d::timestamp AT TIME ZONE %(zone)s)
 AND c.bucket < ((t.d + 1)::timestamp AT TIME ZONE %(zone)s)
GROUP BY 1, 2
"""

DAYS_DIFFER = """
SELECT count(*) FROM consumption_1d d FULL JOIN (
    SELECT point_id, (bucket AT TIME ZONE %(zone)s)::date AS day, sum(energy) AS energy,
           sum(readings) AS readings, sum(expected) AS expected, bool_or(estimated) AS estimated
    FROM consumption_15m GROUP BY 1, 2) f USING (point_id, day)
WHERE d.energy IS NULL OR f.energy IS NULL OR abs(d.energy - f.energy) > %(tol)s
   OR d.readings <> f.readings OR d.expected <> f.expected OR d.estimated <> f.estimated
"""
BUCKET_ROWS = """
SELECT point_id, bucket, energy, readings, expected, estimated FROM consumption_15m
WHERE point_id = ANY(%(pids)s) AND bucket >= %(t0)s ORDER BY 1, 2
"""


# What a kept database was loaded with, so that a later run (--database NAME) measures the same
# window: the late points are bench_rate.late, the targets and the window are here.
META = """
CREATE TABLE bench_meta (t0 timestamptz NOT NULL, t1 timestamptz NOT NULL, interval_s int NOT NULL,
    days int NOT NULL, gap0 int NOT NULL, gap1 int NOT NULL, targets text[] NOT NULL,
    readings bigint)
"""


def counter_sql(p: str, k: str, iv: int) -> str:
    return COUNTER.format(p=p, k=k, iv=iv, rate="r.rate")


def sha(path: str) -> str:
    return hashlib.sha256((ROOT / path).read_bytes()).hexdigest()[:10]


# the code measured, as imported (others may change the files during a long run)
MEASURED = ", ".join(
    f"{path.removeprefix('services/')} {sha(path)}"
    for path in (
        "services/accounting/rollup.py",
        "services/accounting/recompute.py",
        "services/accounting/days.py",
        "services/core/store/rollups.py",
        "services/core/store/consumption.py",
        "services/core/store/pue.py",
    )
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class Window:
    t0: datetime  # first reading
    t1: datetime  # end of the raw window ("now" for the queries)
    interval_s: int
    steps: int  # readings per point
    gap: tuple[int, int]  # steps held back for the late points

    @property
    def spb(self) -> int:
        return 900 // self.interval_s

    def at(self, k: int) -> datetime:
        return self.t0 + timedelta(seconds=k * self.interval_s)


@dataclass(slots=True)
class Bench:
    db: DatabaseSettings
    engine: Engine
    window: Window
    points: int = 0
    late: tuple[int, ...] = ()
    targets: tuple[str, ...] = ()  # enterprise codes with a data centre and a year of rollups

    def raw(self, *, autocommit: bool = True) -> psycopg.Connection[tuple[Any, ...]]:
        conn = psycopg.connect(self.db.libpq_url, autocommit=autocommit)
        conn.execute("SET synchronous_commit = off")  # loading only; timed work uses the engine
        return conn


# ------------------------------------------------------------------------------------ loading


def check_disk(args: argparse.Namespace) -> None:
    readings = args.points * args.days * 86_400 // args.interval_s
    need = readings * BYTES_PER_READING + args.points * args.days * 96 * 90
    free = shutil.disk_usage("/").free
    keep = args.keep_free_gb * 1e9
    print(
        f"disk: {free / 1e9:.0f} GB free, this size needs ~{need / 1e9:.0f} GB, "
        f"keeping {args.keep_free_gb} GB free"
    )
    if free - need < keep:
        fits = int((free - keep) / BYTES_PER_READING / (args.points * 86_400 / args.interval_s))
        raise SystemExit(f"not enough disk: use --days {max(fits, 0)} or fewer points")


def seed_registry(bench: Bench, args: argparse.Namespace) -> None:
    enterprises = -(-args.points // POINTS_PER_ENTERPRISE)
    params = {
        "enterprises": enterprises,
        "per": -(-args.points // enterprises),
        "points": args.points,
        "dc_every": DC_EVERY,
        "interval_s": args.interval_s,
        "created": bench.window.t0 - timedelta(days=400),
    }
    with bench.raw(autocommit=False) as conn:
        for statement in filter(str.strip, REGISTRY.split(";\n")):
            conn.execute(statement, params)
        pids = [int(r[0]) for r in conn.execute("SELECT point_id FROM bench_rate ORDER BY 1")]
        late = sorted(random.Random(7).sample(pids, max(1, round(len(pids) * args.late_share))))
        conn.execute("UPDATE bench_rate SET late = true WHERE point_id = ANY(%s)", (late,))
        codes = [
            str(r[0])
            for r in conn.execute(
                "SELECT e.code FROM enterprises e JOIN sites s ON s.enterprise_id = e.id "
                "AND s.kind = 'data_centre' ORDER BY e.code LIMIT %s",
                (args.targets,),
            )
        ]
        conn.commit()
    bench.points, bench.late, bench.targets = len(pids), tuple(late), tuple(codes)
    with bench.raw() as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM enterprises), (SELECT count(*) FROM sites),"
            " (SELECT count(*) FROM sites WHERE kind = 'data_centre'),"
            " (SELECT count(*) FROM meters WHERE role IN ('boundary', 'facility_total'))"
        ).fetchone()
    assert row is not None
    print(
        f"registry: {row[0]} enterprises, {row[1]} sites ({row[2]} data centres), "
        f"{len(pids):,} points ({row[3]:,} on boundary/facility meters); "
        f"{len(late)} late points"
    )


def load_readings(bench: Bench, args: argparse.Namespace) -> int:
    w = bench.window
    per = max(1, ROWS_PER_STATEMENT // bench.points)
    sql = READINGS.format(value=counter_sql("r.point_id", "k", w.interval_s))
    written = 0
    t0 = time.perf_counter()
    with bench.raw() as conn:
        # Built after the load (a sorted build is compact and ~3x faster than 10,000
        # interleaved insertion points); UNLOGGED: the load is not what is measured.
        conn.execute("ALTER TABLE readings SET UNLOGGED")
        conn.execute("ALTER TABLE readings DROP CONSTRAINT pk_readings")
        next_report = 0.0
        for k0 in range(0, w.steps, per):
            params = {
                "t0": w.t0,
                "iv": w.interval_s,
                "k0": k0,
                "k1": min(w.steps, k0 + per),
                "gap0": w.gap[0],
                "gap1": w.gap[1],
            }
            written += conn.execute(sql, params).rowcount
            done = min(w.steps, k0 + per) / w.steps
            if done >= next_report:
                free = shutil.disk_usage("/").free / 1e9
                spent = time.perf_counter() - t0
                print(
                    f"  readings {done:6.1%}  {written:>13,}  {written / spent:9,.0f} rows/s  "
                    f"{free:5.0f} GB free",
                    flush=True,
                )
                next_report += 0.1
                if free < args.keep_free_gb:
                    raise SystemExit(f"stopped: less than {args.keep_free_gb} GB free")
        heap = time.perf_counter() - t0
        t1 = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (point_id, ts)")
        conn.execute("ANALYZE readings")
        index = time.perf_counter() - t1
        size = conn.execute("SELECT pg_total_relation_size('readings')").fetchone()
    assert size is not None
    print(
        f"readings: {written:,} in {heap:.0f} s ({written / heap:,.0f} rows/s) + primary key "
        f"{index:.0f} s; {size[0] / 1e9:.1f} GB with the index"
    )
    return written


def load_buckets(bench: Bench, *, readings: bool = True, first_bucket: int = 0) -> None:
    """The window's 15-minute rows from the counter formula (from ``first_bucket``: a load cut
    short can be finished), the late points' gap from the readings (set-based), a year before the
    window for the targets, then the days. The primary key is built after the window's rows, as
    for the readings: inserting 10,000 points' buckets in time order into the key made the load
    read and write index pages at random (~30,000 rows/s on the shared machine)."""
    w = bench.window
    t0 = time.perf_counter()
    first = counter_sql("r.point_id", "b * %(spb)s", w.interval_s)
    nxt = counter_sql("r.point_id", "least((b + 1) * %(spb)s, %(steps)s - 1)", w.interval_s)
    window_sql = BUCKETS.format(value_next=nxt, value_first=first)
    buckets = w.steps // w.spb
    with bench.raw() as conn:
        pids = [int(r[0]) for r in conn.execute("SELECT point_id FROM bench_rate ORDER BY 1")]
        per = max(1, ROWS_PER_STATEMENT // len(pids))
        conn.execute("ALTER TABLE consumption_15m DROP CONSTRAINT pk_consumption_15m")
        for b0 in range(first_bucket, buckets, per):
            conn.execute(
                window_sql,
                {
                    "t0": w.t0,
                    "spb": w.spb,
                    "steps": w.steps,
                    "b0": b0,
                    "b1": min(buckets, b0 + per),
                    "pids": pids,
                },
            )
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(
            "ALTER TABLE consumption_15m ADD CONSTRAINT pk_consumption_15m "
            "PRIMARY KEY (point_id, bucket)"
        )
        if readings:  # the late points have no readings in the gap: those buckets from them
            lo = w.at(w.gap[0]) - timedelta(minutes=30)
            hi = w.at(w.gap[1]) + timedelta(minutes=15)
            ranges = {
                "pids": list(bench.late),
                "lo": [lo] * len(bench.late),
                "hi": [hi] * len(bench.late),
                "zone": ZONE.key,
            }
            conn.execute(SET_BASED_DELETE_15M, ranges)
            conn.execute(SET_BASED_15M, ranges)
        history = load_history(bench, conn)
    with bench.engine.begin() as sa:
        zone_days = rebuild_days(sa, ZONE)
    with bench.raw() as conn:
        conn.execute("VACUUM (ANALYZE) consumption_15m")
        conn.execute("VACUUM (ANALYZE) consumption_1d")
        conn.execute("ANALYZE")
        row = conn.execute("SELECT count(*) FROM consumption_15m").fetchone()
    assert row is not None
    print(
        f"rollups: {row[0]:,} 15-minute rows ({history:,} of them the targets' year before the "
        f"window), {zone_days:,} point-days, in {time.perf_counter() - t0:.0f} s"
    )


def load_history(bench: Bench, conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """A year of 15-minute rows before the window for every point of the target enterprises."""
    w = bench.window
    local_t1 = w.t1.astimezone(ZONE)
    start = min(
        datetime(local_t1.year, 1, 1, tzinfo=ZONE),
        datetime.combine(local_t1.date() - timedelta(days=366), datetime.min.time(), ZONE),
    )
    n = int((w.t0 - start) / timedelta(minutes=15))
    pids = [
        int(r[0])
        for r in conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "JOIN enterprises e ON e.id = m.enterprise_id WHERE e.code = ANY(%s)",
            (list(bench.targets),),
        )
    ]
    first = counter_sql("r.point_id", "b * %(spb)s", w.interval_s)
    nxt = counter_sql("r.point_id", "(b + 1) * %(spb)s", w.interval_s)
    sql = BUCKETS.format(value_next=nxt, value_first=first)
    rows = 0
    per = max(1, ROWS_PER_STATEMENT // max(1, len(pids)))
    for b0 in range(-n, 0, per):
        rows += conn.execute(
            sql,
            {
                "t0": w.t0,
                "spb": w.spb,
                "steps": w.steps + 10**9,  # full buckets
                "b0": b0,
                "b1": min(0, b0 + per),
                "pids": pids,
            },
        ).rowcount
    return rows


# Readings as ingest writes them: the primary key in place, each time step for every point in
# turn. The bench's own table gets its key built after the load (sorted, packed leaves), which
# is smaller than what production grows; this sample measures the production shape.
SHAPED = """
CREATE TEMP TABLE shaped (LIKE readings INCLUDING ALL);
INSERT INTO shaped (point_id, ts, value, received_at, source)
SELECT r.point_id, %(t0)s + k * %(iv)s * interval '1 second', {value},
       %(t0)s + k * %(iv)s * interval '1 second' + interval '7 seconds', 1
FROM generate_series(0, %(steps)s - 1) k
CROSS JOIN (SELECT * FROM bench_rate ORDER BY point_id LIMIT %(points)s) r
ORDER BY k, r.point_id
"""
SHAPED_POINTS = 1_000
SHAPED_STEPS = 2_880  # two days of one-minute readings: 2.9 M rows, ~15 leaf pages per point


def measure_storage(bench: Bench, *, readings: bool) -> None:
    """Sizes of the loaded tables, and of readings written in the production order."""
    w = bench.window
    with bench.raw() as conn:
        conn.execute("VACUUM (ANALYZE) readings")
        storage.print_sizes(storage.measure(conn, storage.cadences(w.interval_s)))
        if not readings:
            return
        statements = SHAPED.format(value=counter_sql("r.point_id", "k", 60)).split(";\n")
        params = {"t0": w.t0, "iv": 60, "steps": SHAPED_STEPS, "points": SHAPED_POINTS}
        for statement in statements:
            conn.execute(statement, params)
        conn.execute("VACUUM shaped")
        shaped = storage.measure(conn, {"shaped": storage.YEAR_S / 60})
        print("  the same rows written in ingest order with the key in place (1-minute cadence):")
        storage.print_sizes(shaped)


def save_meta(bench: Bench, loaded: int | None) -> None:
    w = bench.window
    with bench.raw() as conn:
        conn.execute(META)
        conn.execute(
            "INSERT INTO bench_meta VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (w.t0, w.t1, w.interval_s, (w.t1 - w.t0).days, *w.gap, list(bench.targets), loaded),
        )


def reuse(bench: Bench, args: argparse.Namespace) -> int:
    """Take a kept database as it was loaded: the window, points, late points and targets from
    it, and the late hour removed again (an earlier run wrote it back) and its buckets and days
    recomputed without it. Returns the readings loaded (0: loaded for --queries-only)."""
    with bench.raw() as conn:
        meta = conn.execute("SELECT * FROM bench_meta").fetchone()
        assert meta is not None
        t0, t1, interval_s, days, gap0, gap1, targets, loaded = meta
        bench.window = Window(t0, t1, interval_s, days * 86_400 // interval_s, (gap0, gap1))
        bench.targets = tuple(targets)
        pids = [int(r[0]) for r in conn.execute("SELECT point_id FROM bench_rate ORDER BY 1")]
        late = [int(r[0]) for r in conn.execute("SELECT point_id FROM bench_rate WHERE late")]
        bench.points, bench.late = len(pids), tuple(sorted(late))
        if loaded is None and not args.queries_only:
            raise SystemExit("this database was loaded with --queries-only: add it, or use another")
        removed = 0
        if loaded is not None:
            removed = conn.execute(
                "DELETE FROM readings WHERE point_id = ANY(%s) AND ts >= %s AND ts < %s",
                (list(bench.late), bench.window.at(gap0), bench.window.at(gap1)),
            ).rowcount
    if removed:
        w = bench.window
        with bench.engine.begin() as sa:
            for pid in bench.late:
                recompute_point(sa, pid, w.at(gap0) - timedelta(minutes=30), w.at(gap1), ZONE)
    print(
        f"kept database: {bench.points:,} points x {days} days at {interval_s} s from "
        f"{t0:%Y-%m-%d %H:%M}Z, {len(bench.late)} late points ({removed:,} late readings of "
        f"an earlier run removed again)"
    )
    args.points, args.days, args.interval_s = bench.points, days, interval_s
    return int(loaded or 0)


# ------------------------------------------------------------------------- (a) late batch


@dataclass(frozen=True, slots=True)
class LateResult:
    readings: int
    first_s: float
    warm_s: list[float]
    buckets: int
    ranges: int
    set_based_s: list[float]
    full_s: float
    ok: bool


def write_late(bench: Bench) -> tuple[int, list[tuple[int, datetime, datetime]]]:
    w = bench.window
    with bench.raw() as conn:
        rows = conn.execute(
            HELD_BACK.format(value=counter_sql("r.point_id", "k", w.interval_s)),
            {"t0": w.t0, "iv": w.interval_s, "gap0": w.gap[0], "gap1": w.gap[1]},
        ).fetchall()
        dirty = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()
    assert dirty is not None
    assert dirty[0] == 0, "rollup_dirty must be empty before the batch"
    now = datetime.now(UTC)
    batch = IngestSettings().batch_max_readings
    writer = ReadingWriter(bench.db)
    try:  # a gateway forwarding its store in time order, in the ingest engine's batch size
        for i in range(0, len(rows), batch):
            chunk = [(int(p), ts, float(v), now, SOURCE_MQTT) for p, ts, v in rows[i : i + batch]]
            writer.write(Batch(rows=chunk))
    finally:
        writer.close()
    with bench.raw() as conn:
        ranges = [
            (int(p), a, b)
            for p, a, b in conn.execute(
                "SELECT point_id, from_ts, to_ts FROM rollup_dirty ORDER BY id"
            )
        ]
    return len(rows), ranges


def requeue(bench: Bench, ranges: list[tuple[int, datetime, datetime]]) -> None:
    with bench.raw() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO rollup_dirty (point_id, from_ts, to_ts) VALUES (%s, %s, %s)", ranges
        )


def touched(conn: psycopg.Connection[tuple[Any, ...]], ranges: list[Any]) -> dict[str, Any]:
    """Per point, the buckets ``catch_up`` rewrites: from the bucket of the reading before the
    earliest new one to the bucket of the reading after the latest."""
    merged: dict[int, tuple[datetime, datetime]] = {}
    for pid, a, b in ranges:
        old = merged.get(pid)
        merged[pid] = (a, b) if old is None else (min(old[0], a), max(old[1], b))
    out: dict[str, list[Any]] = {"pids": [], "lo": [], "hi": []}
    for pid, (a, b) in sorted(merged.items()):
        row = conn.execute(
            "SELECT date_bin('15 minutes', coalesce((SELECT max(ts) FROM readings "
            "WHERE point_id = %(p)s AND ts < %(a)s), %(a)s), '2000-01-01'), "
            "date_bin('15 minutes', coalesce((SELECT min(ts) FROM readings "
            "WHERE point_id = %(p)s AND ts > %(b)s), %(b)s), '2000-01-01')",
            {"p": pid, "a": a, "b": b},
        ).fetchone()
        assert row is not None
        out["pids"].append(pid)
        out["lo"].append(row[0])
        out["hi"].append(row[1])
    return {**out, "zone": ZONE.key}


def set_based(bench: Bench, params: dict[str, Any]) -> tuple[float, list[tuple[Any, ...]]]:
    """The ceiling: the touched buckets and days in four set-based statements, rolled back."""
    with psycopg.connect(bench.db.libpq_url) as conn:
        t0 = time.perf_counter()
        conn.execute(SET_BASED_DELETE_15M, params)
        conn.execute(SET_BASED_15M, params)
        conn.execute(SET_BASED_DELETE_1D, params)
        conn.execute(SET_BASED_1D, params)
        spent = time.perf_counter() - t0
        rows = conn.execute(BUCKET_ROWS, {"pids": params["pids"], "t0": bench.window.t0}).fetchall()
        conn.rollback()
    return spent, rows


def full_recompute(bench: Bench) -> tuple[float, list[tuple[Any, ...]]]:
    """``recompute_point`` over each late point's whole range, timed, rolled back."""
    w = bench.window
    last = w.at(w.steps - 1)
    with bench.engine.connect() as conn:
        trans = conn.begin()
        t0 = time.perf_counter()
        for pid in bench.late:
            recompute_point(conn, pid, w.t0, last, ZONE)
        spent = time.perf_counter() - t0
        rows = _bucket_rows(conn, bench)
        trans.rollback()
    return spent, rows


def _bucket_rows(conn: Connection, bench: Bench) -> list[tuple[Any, ...]]:
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw.execute(BUCKET_ROWS, {"pids": list(bench.late), "t0": bench.window.t0}).fetchall()


def same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]], label: str) -> bool:
    keys_a = {r[:2]: r for r in a}
    keys_b = {r[:2]: r for r in b}
    differ = [
        k
        for k in keys_a.keys() | keys_b.keys()
        if k not in keys_a
        or k not in keys_b
        or abs(keys_a[k][2] - keys_b[k][2]) > TOLERANCE_KWH
        or keys_a[k][3:] != keys_b[k][3:]
    ]
    if not differ:
        print(f"  ok: {label} ({len(keys_a):,} buckets)")
        return True
    print(f"  WRONG: {label}: {len(differ):,} of {len(keys_a):,} buckets differ, e.g.")
    for k in sorted(differ)[:4]:
        print(f"    {k[0]} {k[1]:%Y-%m-%d %H:%M}Z  {keys_a.get(k)}  vs  {keys_b.get(k)}")
    return False


def late_batch(bench: Bench, reps: int) -> LateResult:
    print("(a) late batch")
    count, ranges = write_late(bench)
    print(
        f"  {count:,} readings of {len(bench.late)} points written back through ReadingWriter:"
        f" {len(ranges)} dirty ranges"
    )
    first = catch_up(bench.engine)
    print(
        f"  catch_up: {first.seconds:.3f} s ({first.points} point passes, "
        f"{first.buckets_written:,} buckets)"
    )
    with bench.raw() as conn:
        params = touched(conn, ranges)
        after = conn.execute(
            BUCKET_ROWS, {"pids": list(bench.late), "t0": bench.window.t0}
        ).fetchall()
    full_s, full_rows = full_recompute(bench)
    print(f"  ceiling, recompute_point over the late points' whole range: {full_s:.3f} s")
    ok = same(after, full_rows, "catch_up = full recomputation of the late points")
    set_s: list[float] = []
    warm: list[float] = []
    for i in range(reps):
        spent, rows = set_based(bench, params)
        set_s.append(spent)
        if i == 0:
            ok = same(after, rows, "catch_up = set-based recomputation") and ok
        requeue(bench, ranges)
        warm.append(catch_up(bench.engine).seconds)
    print(
        f"  warm, median of {reps}: catch_up {statistics.median(warm):.3f} s, "
        f"set-based {statistics.median(set_s):.3f} s (catch_up "
        f"{', '.join(f'{x:.2f}' for x in warm)}; set-based {', '.join(f'{x:.2f}' for x in set_s)})"
    )
    return LateResult(
        count, first.seconds, warm, first.buckets_written, len(ranges), set_s, full_s, ok
    )


def checks(bench: Bench) -> bool:
    w = bench.window
    ok = True
    with bench.raw() as conn:
        dirty = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()
        differ = conn.execute(DAYS_DIFFER, {"zone": ZONE.key, "tol": TOLERANCE_KWH}).fetchone()
        rises = conn.execute(
            f"""SELECT count(*) FROM (
                SELECT r.point_id, {counter_sql("r.point_id", "%(last)s", w.interval_s)}
                       - {counter_sql("r.point_id", "0", w.interval_s)} AS rise,
                       sum(c.energy) AS energy
                FROM bench_rate r JOIN consumption_15m c ON c.point_id = r.point_id
                 AND c.bucket >= %(t0)s
                WHERE r.late GROUP BY r.point_id, r.rate) x
            WHERE abs(rise - energy) > 1e-6 * rise""",
            {"last": w.steps - 1, "iv": w.interval_s, "t0": w.t0},
        ).fetchone()
    assert dirty is not None
    assert differ is not None
    assert rises is not None
    print("checks")
    for good, text_ in (
        (dirty[0] == 0, f"rollup_dirty empty ({dirty[0]} left)"),
        (differ[0] == 0, f"consumption_1d = consumption_15m per local day ({differ[0]} differ)"),
        (rises[0] == 0, f"late points' energy = their counters' rise ({rises[0]} differ)"),
    ):
        print(f"  {'ok' if good else 'WRONG'}: {text_}")
        ok = ok and good
    return ok


# ------------------------------------------------------------------- (c) steady-state pass

NEXT = """
SELECT r.point_id, %(ts)s::timestamptz, {value}
FROM bench_rate r ORDER BY r.point_id LIMIT %(points)s
"""


@dataclass(frozen=True, slots=True)
class PassResult:
    points: int
    wall_s: float
    client_cpu_s: float  # this process: catch_up's Python
    db_cpu_s: float  # the database's backends

    @property
    def cpu_ms_per_point(self) -> float:
        return (self.client_cpu_s + self.db_cpu_s) * 1000 / self.points


def backend_cpu(bench: Bench) -> dict[int, float]:
    """CPU seconds used so far by each backend of the bench's database (same host)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    with bench.raw() as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    for (pid,) in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def steady_pass(bench: Bench, points: int) -> PassResult:
    """(c) The accounting service's steady state: the next reading of POINTS points arrives
    (through ``ReadingWriter``, which marks each point dirty) and one ``catch_up`` pass rolls
    them up; its wall time and CPU (this process and the database's backends) are measured.
    The readings and their buckets are taken out again afterwards."""
    w = bench.window
    print(f"(c) steady state: the next reading of {points:,} points, one catch_up pass")
    with bench.raw() as conn:
        rows = conn.execute(
            NEXT.format(value=counter_sql("r.point_id", "%(k)s::int", w.interval_s)),
            {"ts": w.at(w.steps), "k": w.steps, "points": points},
        ).fetchall()
    now = datetime.now(UTC)
    batch = IngestSettings().batch_max_readings
    writer = ReadingWriter(bench.db)
    try:
        for i in range(0, len(rows), batch):
            chunk = [(int(p), ts, float(v), now, SOURCE_MQTT) for p, ts, v in rows[i : i + batch]]
            writer.write(Batch(rows=chunk))
    finally:
        writer.close()
    try:
        with bench.engine.connect() as conn:  # an open pooled connection for the pass
            conn.exec_driver_sql("SELECT 1")
        before, cpu0 = backend_cpu(bench), time.process_time()
        stats = catch_up(bench.engine)
        client = time.process_time() - cpu0
        after = backend_cpu(bench)
    finally:
        drop_after_window(bench)
    db = sum(used - before.get(pid, 0.0) for pid, used in after.items())
    result = PassResult(stats.points, stats.seconds, client, db)
    print(
        f"  {stats.points:,} point passes ({stats.buckets_written:,} buckets) in "
        f"{stats.seconds:.2f} s; CPU: this process {client:.2f} s, database {db:.2f} s: "
        f"{result.cpu_ms_per_point:.2f} ms per point and pass"
    )
    return result


def drop_after_window(bench: Bench) -> None:
    """Take out what ``steady_pass`` added: readings from t1 on, their buckets, and the last
    bucket and day of every point recomputed from the window's readings."""
    w = bench.window
    with bench.raw() as conn:  # by point: an index range each instead of a scan of the table
        every = [int(r[0]) for r in conn.execute("SELECT point_id FROM bench_rate")]
        pids = [
            int(r[0])
            for r in conn.execute(
                "DELETE FROM readings WHERE point_id = ANY(%s) AND ts >= %s RETURNING point_id",
                (every, w.t1),
            )
        ]
        conn.execute(
            "DELETE FROM consumption_15m WHERE point_id = ANY(%s) AND bucket >= %s", (every, w.t1)
        )
        conn.execute("DELETE FROM rollup_dirty")
    last = w.at(w.steps - 1)
    with bench.engine.begin() as sa:
        for pid in pids:
            recompute_point(sa, pid, last, last, ZONE)


# ---------------------------------------------------------------------- (b) query latency


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p95_ms: float
    per_s: float
    runs: int


class Recorder:
    """Records the statements SQLAlchemy sends on this thread while ``on``."""

    def __init__(self, engine: Engine) -> None:
        self.local = threading.local()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if getattr(self.local, "sink", None) is not None:
            self.local.sink.append((statement, params))

    def capture(self, run: Callable[[], object]) -> list[tuple[str, Any]]:
        self.local.sink = []
        try:
            run()
            return list(self.local.sink)
        finally:
            self.local.sink = None


def measure(
    calls: list[Callable[[], object]], runs: int, concurrency: int, budget_s: float
) -> Latency:
    """Latency of ``runs`` calls rotating over ``calls``, with ``concurrency`` threads; fewer
    runs if they take longer than ``budget_s`` in all."""
    lock = threading.Lock()
    seen: list[float] = []
    deadline = time.perf_counter() + budget_s

    def worker(offset: int) -> None:
        mine = []
        for i in range(offset, runs, concurrency):
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            calls[i % len(calls)]()
            mine.append(time.perf_counter() - t0)
        with lock:
            seen.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    wall = time.perf_counter() - t0
    return Latency(pct(seen, 0.5) * 1000, pct(seen, 0.95) * 1000, len(seen) / wall, len(seen))


def query_calls(bench: Bench) -> dict[str, list[Callable[[], object]]]:
    engine, t1 = bench.engine, bench.window.t1
    today = t1.astimezone(ZONE).date()
    year_ago = datetime.combine(today - timedelta(days=365), datetime.min.time(), ZONE)
    jan1 = datetime(today.year, 1, 1, tzinfo=ZONE)
    months = []
    y, m = today.year, today.month
    for _ in range(12):
        start = datetime(y, m, 1, tzinfo=ZONE)
        months.append((start, min(t1, _next_month(start))))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    factors = default_factors()

    def daily(code: str) -> object:
        with engine.connect() as conn:
            return consumption(
                conn,
                start=year_ago,
                end=t1,
                interval="1d",
                zone=ZONE,
                scope=Scope(enterprise=code, site="plant"),
            )

    def tce(code: str) -> object:  # one grouped statement, as /energy/periods?interval=1mo
        with engine.connect() as conn:
            return [
                sum(t.kgce.value / 1000 for t in p.carriers if t.kgce)
                for p in totals_by_period(
                    conn,
                    factors,
                    start=months[-1][0],
                    end=t1,
                    zone=ZONE,
                    interval="1mo",
                    scope=Scope(enterprise=code),
                )
            ]

    def pue(code: str) -> object:
        with engine.connect() as conn:
            return site_pue(conn, enterprise=code, site="dc-1", start=jan1, end=t1, zone=ZONE)

    return {
        "site daily consumption, 1 year": [lambda c=c: daily(c) for c in bench.targets],
        "enterprise monthly tce, 12 months": [lambda c=c: tce(c) for c in bench.targets],
        "data-centre PUE, year to date": [lambda c=c: pue(c) for c in bench.targets],
    }


def _next_month(start: datetime) -> datetime:
    y, m = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(y, m, 1, tzinfo=ZONE)


# The window sources (days.window_source) are subqueries over every point: the scope's points are
# joined to them afterwards, and PostgreSQL reads whole tables (EXPLAIN: a hash join over seq
# scans of consumption_1d and consumption_15m). The fix measured here: restrict each branch to
# the scope's points (here, a superset: all points of the enterprise) so both use their
# (point_id, day) / (point_id, bucket) keys.
SCOPED = (
    (
        "FROM consumption_1d WHERE day >=",
        "FROM consumption_1d WHERE point_id = ANY(%(bench_pids)s) AND day >=",
    ),
    (
        "FROM consumption_15m WHERE (bucket >= %(w_start)s AND bucket < %(w_mid0)s) OR "
        "(bucket >= %(w_mid1)s AND bucket < %(w_end)s)",
        "FROM consumption_15m WHERE point_id = ANY(%(bench_pids)s) AND ((bucket >= %(w_start)s "
        "AND bucket < %(w_mid0)s) OR (bucket >= %(w_mid1)s AND bucket < %(w_end)s))",
    ),
    (
        "FROM consumption_15m WHERE bucket >= %(w_start)s",
        "FROM consumption_15m WHERE point_id = ANY(%(bench_pids)s) AND bucket >= %(w_start)s",
    ),
)


def scoped(sql: str) -> str:
    for old, new in SCOPED:
        sql = sql.replace(old, new)
    return sql


class Replay:
    """The captured statements of each call, replayed with psycopg on one connection per
    thread (the ceiling: the same SQL without the Python layer); with ``pids`` (per call),
    the window sources restricted to those points (the proposed fix)."""

    def __init__(
        self,
        bench: Bench,
        statements: list[list[tuple[str, Any]]],
        pids: list[list[int]] | None = None,
    ) -> None:
        self.url = bench.db.libpq_url
        self.statements = [
            [
                (sql, params) if pids is None else (scoped(sql), {**params, "bench_pids": pids[i]})
                for sql, params in s
            ]
            for i, s in enumerate(statements)
        ]
        self.local = threading.local()

    def calls(self) -> list[Callable[[], object]]:
        return [lambda s=s: self._run(s) for s in self.statements]

    def _run(self, statements: list[tuple[str, Any]]) -> object:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            # the platform's session settings (services.core.db.make_engine): JIT off
            conn = self.local.conn = psycopg.connect(
                self.url, autocommit=True, options="-c jit=off"
            )
        return [conn.execute(sql, params).fetchall() for sql, params in statements]


def query_latency(bench: Bench, args: argparse.Namespace) -> list[tuple[Any, ...]]:
    print(f"(b) query latency, {args.runs} runs each over {len(bench.targets)} targets")
    recorder = Recorder(bench.engine)
    results: list[tuple[Any, ...]] = []
    with bench.raw() as conn:
        pids = [
            [
                int(r[0])
                for r in conn.execute(
                    "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
                    "JOIN enterprises e ON e.id = m.enterprise_id WHERE e.code = %s",
                    (code,),
                )
            ]
            for code in bench.targets
        ]
    for name, calls in query_calls(bench).items():
        statements = [recorder.capture(call) for call in calls]  # also warms the cache
        raw, fixed = Replay(bench, statements), Replay(bench, statements, pids)
        modes = [("function", calls), ("raw SQL", raw.calls())]
        if all(any("bench_pids" in q for q, _ in st) for st in fixed.statements):
            same_rows = alike(raw.calls()[0](), fixed.calls()[0]())
            print(f"  {name}: scoped SQL returns the same rows (sums to 1e-9): {same_rows}")
            modes.append(("scoped", fixed.calls()))
        row: list[Latency] = []
        for label, fns in modes:
            for conc in (1, args.concurrency):
                lat = measure(fns, args.runs, conc, args.max_seconds)
                row.append(lat)
                print(
                    f"  {name:<34} {label:<8} x{conc}: p50 {lat.p50_ms:8.1f} ms  "
                    f"p95 {lat.p95_ms:8.1f} ms  {lat.per_s:7.1f}/s  ({lat.runs} runs)",
                    flush=True,
                )
        results.append((name, *row))
        if args.explain:
            explain(bench, statements[0])
    return results


def alike(a: Any, b: Any) -> bool:
    """Equal, floats up to summation order (relative 1e-9)."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(alike(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def explain(bench: Bench, statements: list[tuple[str, Any]], pids: list[int] | None = None) -> None:
    print(f"    EXPLAIN ANALYZE{', scoped' if pids else ''}:")
    with psycopg.connect(bench.db.libpq_url, autocommit=True) as conn:
        replay = Replay(bench, [statements], None if pids is None else [pids])
        for sql, params in replay.statements[0]:
            if "rollup_meta" in sql:
                continue
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
            print("    " + "\n    ".join(r[0] for r in plan))


# ------------------------------------------------------------------------------------ main


def summary(
    args: argparse.Namespace, late: LateResult | None, queries: list[Any], loaded: int
) -> None:
    print()
    print(
        f"summary: {args.points:,} points x {args.days} days at {args.interval_s} s = "
        f"{loaded:,} readings; {MEASURED}"
    )
    if late is not None:
        warm = statistics.median(late.warm_s)
        setb = statistics.median(late.set_based_s)
        print(
            f"  late batch ({late.readings:,} readings, {late.ranges} dirty ranges): "
            f"catch_up {late.first_s:.3f} s (warm {warm:.3f} s); ceilings: set-based "
            f"{setb:.3f} s (ratio {setb / warm:.2f} warm), full recomputation "
            f"{late.full_s:.3f} s (ratio {late.full_s / late.first_s:.1f}); target < 2 s "
            f"{'met' if late.first_s < 2 else 'MISSED'}; correct: {late.ok}"
        )
    c = args.concurrency
    for name, f1, fc, r1, rc, *fixed in queries:
        t1, tc = fixed or (r1, rc)
        print(
            f"  {name}: p50/p95 {f1.p50_ms:.1f}/{f1.p95_ms:.1f} ms, x{c} "
            f"{fc.p50_ms:.1f}/{fc.p95_ms:.1f} ms; raw SQL {r1.p50_ms:.1f}/{r1.p95_ms:.1f} ms, "
            f"x{c} {rc.p50_ms:.1f}/{rc.p95_ms:.1f} ms; ratio raw/function p50 "
            f"{r1.p50_ms / f1.p50_ms:.2f}; target p95 < 50 ms "
            f"{'met' if max(f1.p95_ms, fc.p95_ms) < 50 else 'MISSED'}; scoped SQL (fix) "
            f"{t1.p50_ms:.1f}/{t1.p95_ms:.1f} ms, x{c} {tc.p50_ms:.1f}/{tc.p95_ms:.1f} ms"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--interval-s", type=int, default=60, help="one reading every N seconds")
    parser.add_argument("--late-share", type=float, default=0.01, help="share of late points")
    parser.add_argument("--runs", type=int, default=200, help="runs per query and mode")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--targets", type=int, default=10, help="enterprises queried")
    parser.add_argument("--reps", type=int, default=3, help="warm repetitions of (a)")
    parser.add_argument("--keep-free-gb", type=int, default=25)
    parser.add_argument("--max-seconds", type=float, default=45, help="time cap per query and mode")
    parser.add_argument(
        "--queries-only", action="store_true", help="(b) only: rollups without raw readings"
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query")
    parser.add_argument(
        "--steady-points", type=int, default=1000, help="points with a new reading in (c)"
    )
    parser.add_argument(
        "--database",
        help="load into the database NAME and keep it, or reuse it if an earlier run kept it "
        "(its size then replaces --points/--days/--interval-s)",
    )
    args = parser.parse_args()
    if args.days < 11:
        parser.error("--days must be at least 11 (the late hour is in day 10)")
    if 900 % args.interval_s:
        parser.error("--interval-s must divide 900 (whole readings per 15-minute bucket)")
    return args


def new_window(args: argparse.Namespace) -> Window:
    t1 = datetime.now(UTC).replace(second=0, microsecond=0)
    t1 -= timedelta(minutes=t1.minute % 15)
    gap0 = (9 * 86_400 + 12 * 3600) // args.interval_s  # 12:00 on day 10
    return Window(
        t0=t1 - timedelta(days=args.days),
        t1=t1,
        interval_s=args.interval_s,
        steps=args.days * 86_400 // args.interval_s,
        gap=(gap0, gap0 + 3600 // args.interval_s),
    )


def load(bench: Bench, args: argparse.Namespace, started: float) -> int:
    """A fresh database: registry, readings (unless --queries-only), rollups, sizes."""
    seed_registry(bench, args)
    loaded = 0
    if not args.queries_only:
        loaded = load_readings(bench, args)
    load_buckets(bench, readings=not args.queries_only)
    print(f"loaded in {time.perf_counter() - started:.0f} s")
    measure_storage(bench, readings=not args.queries_only)
    return loaded


def run(bench: Bench, args: argparse.Namespace, loaded: int) -> bool:
    if args.queries_only:
        summary(args, None, query_latency(bench, args), 0)
        return True
    late = late_batch(bench, args.reps)
    ok = checks(bench) and late.ok
    queries = query_latency(bench, args)
    steady = steady_pass(bench, min(args.steady_points, bench.points))
    summary(args, late, queries, loaded + late.readings)
    print(
        f"  steady state: one pass over {steady.points:,} points with a new reading each "
        f"{steady.wall_s:.2f} s, {steady.cpu_ms_per_point:.2f} ms CPU per point and pass "
        f"(this process {steady.client_cpu_s:.2f} s + database {steady.db_cpu_s:.2f} s)"
    )
    return ok


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    private = Private()
    try:
        server = resolve_postgres(private)
        name = args.database
        fresh = name is None or not dbs.exists(server, name)
        if fresh:
            check_disk(args)
        if name is None:
            name = dbs.create_template(server)
        elif fresh:
            dbs.create_migrated(server, name)
        try:
            db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
            bench = Bench(db, make_engine(db, pool_size=args.concurrency + 1), new_window(args))
            if fresh:
                loaded = load(bench, args, started)
                if args.database is not None:
                    save_meta(bench, None if args.queries_only else loaded)
            else:
                loaded = reuse(bench, args)
            ok = run(bench, args, loaded)
            bench.engine.dispose()
        finally:
            if args.database is None:
                dbs.drop(server, name)
            else:
                print(f"kept database {name}: --database {name}")
    finally:
        private.close()
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
