"""15-minute rollups on plain PostgreSQL: one table against declarative partitions by month.

Issue 20, item 6. Two tables shaped like ``consumption_15m`` (primary key point_id, bucket) get
the same POINTS points x DAYS days of 15-minute rows (server-side ``generate_series``): ``plain``
is one table, ``monthly`` is partitioned by range of ``bucket``, one partition per calendar month
(UTC). Then, RUNS times each with a random point, the statements the platform runs against
the table, with bound parameters as SQLAlchemy sends them, alternating between the tables run
by run with the same parameters after an untimed warm-up pass: a point's day of buckets (the API's
15-minute series), a point's month summed, an enterprise's points (ENTERPRISE ids, ``= ANY``)
summed per point over a month, and the accounting's rewrite of one point's eight buckets
(DELETE and INSERT in one transaction, rolled back). p50 / p95 in ms and the size of each table
with its indexes are printed.

Usage: .venv/bin/python bench/rollup_partitions.py [--points 300] [--days 365] [--runs 300]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL, 127.0.0.1:5432, or a private server).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from psycopg import sql

from tests.support import db as dbs
from tests.support.services import Private, resolve_postgres

T0 = datetime(2025, 12, 1, tzinfo=UTC)
TABLES = ("plain", "monthly")
COLUMNS = sql.SQL("""(point_id integer NOT NULL, bucket timestamptz NOT NULL,
    energy float8 NOT NULL, readings smallint NOT NULL, expected smallint NOT NULL,
    estimated boolean NOT NULL, computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (point_id, bucket))""")
LOAD = sql.SQL("""INSERT INTO {table} (point_id, bucket, energy, readings, expected, estimated)
SELECT p, %(t0)s + k * interval '15 minutes', 1.0 + (p * 31 + k) %% 17, 15, 15, false
FROM generate_series(0, %(buckets)s - 1) k CROSS JOIN generate_series(1, %(points)s) p
ORDER BY k, p""")

DAY = sql.SQL("SELECT bucket, energy FROM {t} WHERE point_id = %s AND bucket >= %s AND bucket < %s")
MONTH = sql.SQL("SELECT sum(energy) FROM {t} WHERE point_id = %s AND bucket >= %s AND bucket < %s")
ENTERPRISE = sql.SQL(
    "SELECT point_id, sum(energy) FROM {t} WHERE point_id = ANY(%s) "
    "AND bucket >= %s AND bucket < %s GROUP BY point_id"
)
DELETE = sql.SQL("DELETE FROM {t} WHERE point_id = %s AND bucket >= %s AND bucket <= %s")
INSERT = sql.SQL(
    "INSERT INTO {t} (point_id, bucket, energy, readings, expected, estimated) "
    "SELECT %s, %s + k * interval '15 minutes', 2.0, 15, 15, false FROM generate_series(0, 7) k"
)


def _create(conn: psycopg.Connection[tuple[object, ...]], days: int) -> None:
    conn.execute(sql.SQL("CREATE TABLE plain {}").format(COLUMNS))
    conn.execute(sql.SQL("CREATE TABLE monthly {} PARTITION BY RANGE (bucket)").format(COLUMNS))
    month = T0
    while month < T0 + timedelta(days=days):
        following = (month + timedelta(days=32)).replace(day=1)
        conn.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF monthly FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(f"monthly_{month:%Y%m}"), sql.Literal(month), sql.Literal(following)
            )
        )
        month = following


Statement = Callable[[str, random.Random], object]


def _statements(
    conn: psycopg.Connection[tuple[object, ...]], args: argparse.Namespace
) -> dict[str, Statement]:
    """Each measured statement as a function of the table and a generator of its parameters."""

    def when(rng: random.Random) -> datetime:
        return T0 + timedelta(days=rng.randrange(args.days - 31))

    def day(table: str, rng: random.Random) -> object:
        pid, t = rng.randint(1, args.points), when(rng)
        query = DAY.format(t=sql.Identifier(table))
        return conn.execute(query, (pid, t, t + timedelta(days=1))).fetchall()

    def month(table: str, rng: random.Random) -> object:
        pid, t = rng.randint(1, args.points), when(rng)
        query = MONTH.format(t=sql.Identifier(table))
        return conn.execute(query, (pid, t, t + timedelta(days=30))).fetchall()

    def enterprise(table: str, rng: random.Random) -> object:
        first, t = rng.randint(1, args.points - args.enterprise), when(rng)
        query = ENTERPRISE.format(t=sql.Identifier(table))
        ids = list(range(first, first + args.enterprise))  # as services.core.store.ids.among
        return conn.execute(query, (ids, t, t + timedelta(days=30))).fetchall()

    def rewrite(table: str, rng: random.Random) -> object:
        pid, t = rng.randint(1, args.points), when(rng)
        with conn.transaction(force_rollback=True):
            end = t + timedelta(minutes=105)
            conn.execute(DELETE.format(t=sql.Identifier(table)), (pid, t, end))
            conn.execute(INSERT.format(t=sql.Identifier(table)), (pid, t))
        return None

    return {
        "point day (96 rows)": day,
        "point month sum": month,
        f"enterprise month ({args.enterprise} points)": enterprise,
        "rewrite 8 buckets": rewrite,
    }


def _paired(fn: Statement, runs: int) -> dict[str, tuple[float, float]]:
    """p50 / p95 in ms per table; the tables alternate run by run with the same parameters, so
    both see the same load on a shared machine. One untimed pass first warms the caches."""
    samples: dict[str, list[float]] = {table: [] for table in TABLES}
    for i in range(-runs, runs):
        for table in TABLES if i % 2 else TABLES[::-1]:
            rng = random.Random(i)
            started = time.perf_counter()
            fn(table, rng)
            if i >= 0:
                samples[table].append((time.perf_counter() - started) * 1000)
    out = {}
    for table, values in samples.items():
        values.sort()
        out[table] = (statistics.median(values), values[int(0.95 * (len(values) - 1))])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--enterprise", type=int, default=33)
    args = parser.parse_args()
    private = Private()
    try:
        server = resolve_postgres(private)
        name = dbs.clone(server, "template0")
        try:
            with psycopg.connect(dbs.with_database(server, name), autocommit=True) as conn:
                _create(conn, args.days)
                for table in TABLES:
                    started = time.perf_counter()
                    conn.execute(
                        LOAD.format(table=sql.Identifier(table)),
                        {"t0": T0, "buckets": args.days * 96, "points": args.points},
                    )
                    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
                    print(f"{table}: loaded in {time.perf_counter() - started:.0f} s")
                rows = args.points * args.days * 96
                print(f"{args.points} points x {args.days} days = {rows:,} rows per table")
                for table in TABLES:
                    size = conn.execute(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                        "WHERE c.relname = %s OR c.relname LIKE %s AND c.relkind = 'r'",
                        (table, f"{table}\\_%"),
                    ).fetchone()
                    assert size is not None
                    print(f"{table}: {int(size[0]) / rows:.1f} bytes/row with indexes")
                for what, fn in _statements(conn, args).items():
                    times = _paired(fn, args.runs)
                    print(
                        f"{what}: "
                        + "; ".join(
                            f"{t} p50 {a:.2f} ms, p95 {b:.2f} ms" for t, (a, b) in times.items()
                        )
                    )
        finally:
            dbs.drop(server, name)
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
