"""Alert evaluation time: one full evaluation of every rule family for N data centres (each in
its own enterprise with an electricity budget) with D days of 15-minute rollups.

The registry and the rollups are generated with SQL (generate_series) into a fresh database; the
evaluation is the real Evaluator with every family the alerts service runs. Prints the time per
family and in total, against the evaluation interval (60 s by default) and the issue's 5 s target.

Usage: .venv/bin/python bench/alerts_eval.py [--sites 1000] [--days 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry
from sqlalchemy import text

from services.alerts.evaluator import AlertsMetrics, Evaluator
from services.alerts.main import default_families
from services.alerts.notify import Router
from services.core.accounting.days import rebuild_days
from services.core.db import make_engine
from services.core.settings import AlertsSettings, DatabaseSettings
from tests.support import db as dbs
from tests.support.services import Private, resolve_postgres

ZONE = ZoneInfo("Asia/Shanghai")

SEED = """
INSERT INTO enterprises (code, name, industry, town, grid_region)
SELECT 'E' || lpad(i::text, 17, '0'), 'Enterprise ' || i, 'I65', 'Xinkou', 'north'
FROM generate_series(1, :n) i;
INSERT INTO sites (enterprise_id, code, name, kind, dc_class)
SELECT id, 'dc-1', 'DC', 'data_centre', CASE WHEN id % 2 = 0 THEN 'existing' ELSE 'new_large' END
FROM enterprises;
INSERT INTO meters (enterprise_id, site_id, code, carrier, protocol, role, created_at)
SELECT s.enterprise_id, s.id, r.code, 'electricity', 'mqtt', r.role, :created
FROM sites s CROSS JOIN (VALUES ('IN', 'facility_total'), ('IT', 'it_load')) AS r(code, role);
INSERT INTO points (meter_id, quantity, unit, kind, interval_s)
SELECT id, 'energy_import_kwh', 'kWh', 'cumulative', 900 FROM meters;
INSERT INTO budgets (enterprise_id, year, carrier, amount, unit)
SELECT id, :year, 'electricity', 40000000, 'kWh' FROM enterprises;
INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, estimated)
SELECT p.id, b, CASE WHEN m.role = 'it_load' THEN 250 ELSE 250 * (1.2 + (p.id % 5) * 0.05) END,
       1, 1, false
FROM points p JOIN meters m ON m.id = p.meter_id
CROSS JOIN generate_series(:start, :end - interval '15 minutes', interval '15 minutes') AS b;
"""


def _evaluate_all(evaluator: Evaluator, now: datetime, label: str) -> float:
    print(f" {label}:")
    total = 0.0
    for family in evaluator.families:
        t1 = time.perf_counter()
        counts = evaluator.evaluate(family, now)
        spent = time.perf_counter() - t1
        total += spent
        print(f"  {family.name:<13} {spent:8.2f} s   opened {counts['opened']}")
    print(f"  {'total':<13} {total:8.2f} s")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--compare", action="store_true", help="also evaluate from the 15-minute rows only"
    )
    args = parser.parse_args()
    private = Private()
    try:
        server = resolve_postgres(private)
        template = dbs.create_template(server)
        name = dbs.clone(server, template)
        db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
        engine = make_engine(db)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = now - timedelta(days=args.days)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for statement in filter(str.strip, SEED.split(";")):
                conn.execute(
                    text(statement),
                    {
                        "n": args.sites,
                        "start": start,
                        "end": now,
                        "created": start - timedelta(days=1),
                        "year": now.astimezone(ZONE).year,
                    },
                )
            days = rebuild_days(conn, ZONE)
            conn.execute(text("ANALYZE"))
            rows = conn.execute(text("SELECT count(*) FROM consumption_15m")).scalar_one()
        seeded = time.perf_counter() - t0
        settings = AlertsSettings()
        evaluator = Evaluator(
            engine,
            settings,
            default_families(settings, ZONE),
            Router(settings.routes, []),
            AlertsMetrics(CollectorRegistry()),
        )
        print(
            f"{args.sites} data centres and {args.sites} enterprises, {args.days} days of "
            f"15-minute rollups ({rows:,} rows, {days:,} point-days, seeded in {seeded:.1f} s)"
        )
        _evaluate_all(evaluator, now, "first pass (opens the alerts)")
        with_days = _evaluate_all(evaluator, now, "steady state (the alerts exist)")
        if args.compare:
            with engine.begin() as conn:  # the queries fall back to the 15-minute rows
                conn.execute(text("DELETE FROM rollup_meta WHERE key = 'days_zone'"))
            rows_only = _evaluate_all(evaluator, now, "steady state, 15-minute rows only")
            print(f"  ratio with days / without: {with_days / rows_only:.2f}")
        print(f"  interval {settings.interval_s:.0f} s; target < 5 s")
        engine.dispose()
        dbs.drop(server, name)
        dbs.drop(server, template)
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
