"""The district data-quality report at scale: ENTERPRISES (300) enterprises over a month (30 days).

A fresh migrated database gets a registry of ENTERPRISES enterprises, each with a plant of one
boundary incomer and two declared sub-meters (``sub_of``) and a gas meter; every fifth also a data
centre (facility_total and it_load meters). The month is loaded with server-side SQL: a reading
every 15 minutes for every counter (2 % of them two hours late), the 15-minute rollups from the
same rows with 3 % of the intervals missing, the daily rollups summed from them, and a sprinkling
of counter events, conflicting re-sends and dead letters.

Timed: ``quality_report`` for the whole district and the month (the function the API's
``/quality/district`` and ``energymon report quality`` call), warm, the best and the median of
RUNS runs. Ceiling in the same run: the very SQL statements the report issued, replayed with
psycopg on an open connection (no pool, no SQLAlchemy, no Python arithmetic), best of RUNS.

Usage: .venv/bin/python bench/quality.py [--enterprises 300] [--days 30] [--runs 5]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL, 127.0.0.1:5432, or a private server).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.accounting.days import rebuild_days
from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.core.store.quality_report import Period, QualityRules, quality_report
from tests.support import db as dbs
from tests.support.services import Private, resolve_postgres

ZONE = ZoneInfo("Asia/Shanghai")
TARGET_S = 2.0


def district_yaml(enterprises: int) -> str:
    out = ["validate_check_digits: false", "enterprises:"]
    for e in range(enterprises):
        code = f"91120111MA{e:07d}X"
        out += [
            f"  - {{code: {code}, name: Enterprise {e}, industry: C33, town: T{e % 12},",
            "     sites: [",
            "       {code: plant, meters: [",
            "         {code: IN, carrier: electricity, points: [energy_import_kwh]},",
            "         {code: F1, carrier: electricity, role: sub, sub_of: IN,"
            " points: [energy_import_kwh]},",
            "         {code: F2, carrier: electricity, role: sub, sub_of: IN,"
            " points: [energy_import_kwh]},",
            "         {code: G1, carrier: natural_gas, points: [gas_volume_m3]}]}",
        ]
        if e % 5 == 0:
            out += [
                "      , {code: dc, kind: data_centre, dc_class: existing, meters: [",
                "         {code: DC-IN, carrier: electricity, role: facility_total,"
                " points: [energy_import_kwh]},",
                "         {code: DC-IT, carrier: electricity, role: it_load,"
                " points: [energy_import_kwh]}]}",
            ]
        out.append("     ]}")
    return "\n".join(out) + "\n"


# Server-side load. %(t0)s: the month's first local midnight; %(n)s: quarter hours in the month.
LOAD = [
    """
    INSERT INTO readings (point_id, ts, value, received_at, source)
    SELECT p.id, %(t0)s + q * interval '15 minutes', q * (1 + p.id %% 7),
           %(t0)s + q * interval '15 minutes'
               + CASE WHEN (p.id * 7919 + q) %% 50 = 0 THEN interval '2 hours'
                      ELSE interval '20 seconds' END,
           1
    FROM points p, generate_series(0, %(n)s - 1) q
    """,
    """
    INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, estimated)
    SELECT p.id, %(t0)s + q * interval '15 minutes',
           CASE WHEN p.id %% 3 = 1 THEN 0.95 ELSE 1 END * (1 + p.id %% 7), 1, 1, false
    FROM points p, generate_series(0, %(n)s - 1) q
    WHERE (p.id * 104729 + q * 31) %% 100 >= 3
    """,
    """
    INSERT INTO counter_events (point_id, ts, kind, energy)
    SELECT p.id, %(t0)s + (p.id %% 2880) * interval '15 minutes', 'reset', 0
    FROM points p WHERE p.id %% 11 = 0
    """,
    """
    INSERT INTO reading_conflicts (point_id, ts, first_value, new_value, source, received_at,
                                   first_received_at)
    SELECT p.id, %(t0)s + (p.id %% 2880) * interval '15 minutes', 1, 2, 1,
           %(t0)s + interval '1 day', %(t0)s
    FROM points p WHERE p.id %% 13 = 0
    """,
    """
    INSERT INTO dead_letters (received_at, source, topic, enterprise_code, gateway_code,
                              reading_index, reason, detail, payload, payload_size, fingerprint)
    SELECT %(t0)s + i * interval '1 hour', 'mqtt', 't', e.code, 'gw', 0,
           CASE WHEN i %% 2 = 0 THEN 'unknown_meter' ELSE 'invalid_reading' END, 'bench',
           '\\x7b7d', 2, sha256((e.code || i)::bytea)
    FROM enterprises e, generate_series(0, 3) i WHERE e.id %% 4 = 0
    """,
    "ANALYZE",
]


def load(db: DatabaseSettings, enterprises: int, first_day: date, days: int) -> int:
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(district_yaml(enterprises)))
    engine.dispose()
    t0 = datetime.combine(first_day, datetime.min.time(), tzinfo=ZONE)
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        for sql in LOAD:
            conn.execute(sql, {"t0": t0, "n": days * 96})  # type: ignore[arg-type]
        points = conn.execute("SELECT count(*) FROM points").fetchone()
    # the daily rollups as the accounting service writes them (sums and the measured and
    # estimated collection periods each day holds)
    engine = make_engine(db)
    with engine.begin() as sa_conn:
        rebuild_days(sa_conn, ZONE)
    engine.dispose()
    return int(points[0]) if points else 0


def capture(engine: Engine) -> list[tuple[str, Any]]:
    """Record every statement the engine sends (for the ceiling's replay)."""
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--days", type=int, default=30, help="30 = November 2026")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    first_day = date(2026, 11, 1)
    period = Period("2026-11", first_day, args.days)
    now = datetime.combine(first_day + timedelta(days=args.days + 1), datetime.min.time(), UTC)
    private = Private()
    try:
        server = resolve_postgres(private)
        name = dbs.create_template(server)
        try:
            db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
            started = time.perf_counter()
            points = load(db, args.enterprises, first_day, args.days)
            print(
                f"{args.enterprises} enterprises, {points} points, {args.days} days "
                f"({points * args.days * 96:,} readings) loaded in "
                f"{time.perf_counter() - started:.0f} s"
            )
            engine = make_engine(db)
            sent = capture(engine)
            times = []
            for _ in range(args.runs + 1):  # the first run warms the caches
                sent.clear()
                t = time.perf_counter()
                with engine.connect() as conn:
                    report = quality_report(
                        conn, period=period, zone=ZONE, now=now, rules=QualityRules()
                    )
                times.append(time.perf_counter() - t)
            statements = list(sent)
            engine.dispose()
            replays = []
            with psycopg.connect(db.libpq_url) as raw:
                for _ in range(args.runs):
                    t = time.perf_counter()
                    for sql, params in statements:
                        raw.execute(sql, params).fetchall()  # type: ignore[arg-type]
                    replays.append(time.perf_counter() - t)
                    raw.rollback()
            best, median = min(times[1:]), statistics.median(times[1:])
            ceiling = min(replays)
            worst = report.enterprises[0]
            print(
                f"report: {len(report.enterprises)} enterprises, worst {worst.enterprise} "
                f"{worst.completeness:.2%}, {len(statements)} statements"
            )
            print(
                f"district quality report, month: best {best:.3f} s, median {median:.3f} s; "
                f"ceiling (the same SQL replayed by psycopg) {ceiling:.3f} s; "
                f"ratio {best / ceiling:.2f}; target < {TARGET_S} s "
                f"{'met' if best < TARGET_S else 'NOT met'}"
            )
        finally:
            dbs.drop(server, name)
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
