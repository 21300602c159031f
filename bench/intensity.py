"""The district intensity ranking through the API: ENTERPRISES (300) enterprises x MONTHS (24)
months of monthly rollups and production entries.

A fresh migrated database gets a registry of ENTERPRISES enterprises, each with a plant of an
electricity incomer, a gas meter and a steam meter, a workshop feeder (a sub-meter) and two
products: one takes the plant's counted meters, judged by a GB 21256-2025 entry; the other takes
half of the feeder, without a quota. The monthly rollups (``consumption_1mo``, the table the
figures read) are written for every point and month with full measured periods (every 97th
point-month a third short, so some figures are insufficient data), and monthly output and value
added for every product and enterprise (every 50th product misses the last month).

Timed: ``GET /api/v1/district/intensity/ranking`` (the month ranked by intensity, and the year
to date ranked by quota distance) by one officer over HTTP, the snapshot cache off
(``ENERGYMON_API_SNAPSHOT_TTL_S=0``: every request computes the district), sequentially, warm:
p50 and p95 of RUNS requests. Ceiling in the same run: the SQL statements one request issues,
replayed with psycopg on an open connection with the API engine's options (no pool, no
SQLAlchemy, no Python arithmetic), best of RUNS; the ratio is the API's p50 over it.

Usage: .venv/bin/python bench/intensity.py [--enterprises 300] [--months 24] [--runs 40]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL, 127.0.0.1:5432, or a private server).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.security import Role, configure_hasher
from services.api.users import create_user
from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import ApiSettings, CommonSettings, DatabaseSettings, IngestSettings
from tests.support import db as dbs
from tests.support.api import serve, token
from tests.support.services import Private, resolve_postgres

TARGET_P95_S = 0.100
YEAR, MONTH = 2026, 11  # the ranked month; 24 months: December 2024 to November 2026
PASSWORD = "bench-officer-password"


def district_yaml(enterprises: int) -> str:
    out = ["validate_check_digits: false", "enterprises:"]
    for e in range(enterprises):
        out += [
            f"  - {{code: 91120111MA{e:07d}X, name: Enterprise {e}, industry: C31, town: T{e % 8},",
            "     sites: [{code: plant, meters: [",
            "       {code: IN, carrier: electricity, points: [energy_import_kwh]},",
            "       {code: G1, carrier: natural_gas, points: [gas_volume_m3]},",
            "       {code: S1, carrier: steam, points: [steam_mass_t]},",
            "       {code: F1, carrier: electricity, role: sub, sub_of: IN,"
            " points: [energy_import_kwh]}]}],",
            "     products: [",
            "       {code: hot-metal, name: hot metal, unit: t, attribution: [{site: plant}],",
            "        quota: {standard: GB 21256-2025, product: steel_blast_furnace}},",
            "       {code: castings, name: castings, unit: t,"
            " attribution: [{meter: F1, share: 0.5}]}]}",
        ]
    return "\n".join(out) + "\n"


LOAD = [
    # every point, every month: a month's collection periods all measured (15 min), every 97th
    # point-month a third short
    """
    INSERT INTO consumption_1mo (point_id, month, energy, readings, expected, estimated,
                                 measured_periods, estimated_periods)
    SELECT p.id, m::date, 1000 * (1 + p.id %% 7) * (1 + (m::date - %(m0)s::date) %% 5 * 0.01),
           n, n, false, CASE WHEN (p.id + (m::date - %(m0)s::date)) %% 97 = 0 THEN n * 2 / 3
                             ELSE n END, 0
    FROM points p,
         generate_series(%(m0)s::date, %(m1)s::date, interval '1 month') m,
         LATERAL (SELECT (extract(epoch FROM (m + interval '1 month') - m) / 900)::int AS n) q
    """,
    """
    INSERT INTO rollup_meta (key, value) VALUES ('days_zone', 'Asia/Shanghai')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
    """,
    """
    INSERT INTO production_entries (enterprise_id, product_id, kind, period, period_start, value,
                                    unit, revision, entered_by)
    SELECT pr.enterprise_id, pr.id, 'output', 'month', m::date, 30 + pr.id %% 11, 't', 1, 'bench'
    FROM products pr, generate_series(%(m0)s::date, %(m1)s::date, interval '1 month') m
    WHERE NOT (pr.id %% 50 = 0 AND m::date = %(m1)s::date)
    """,
    """
    INSERT INTO production_entries (enterprise_id, product_id, kind, period, period_start, value,
                                    unit, price_base_year, revision, entered_by)
    SELECT e.id, NULL, 'value_added', 'month', m::date, 500 + e.id %% 13, '10^4 CNY', 2020, 1,
           'bench'
    FROM enterprises e, generate_series(%(m0)s::date, %(m1)s::date, interval '1 month') m
    """,
    "ANALYZE",
]


def load(db: DatabaseSettings, enterprises: int, months: int) -> int:
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(district_yaml(enterprises)))
        create_user(conn, username="officer", password=PASSWORD, role=Role.OFFICER)
    engine.dispose()
    m1 = f"{YEAR}-{MONTH:02d}-01"
    first = YEAR * 12 + MONTH - 1 - (months - 1)
    m0 = f"{first // 12}-{first % 12 + 1:02d}-01"
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        for sql in LOAD:
            conn.execute(sql, {"m0": m0, "m1": m1})  # type: ignore[arg-type]
        rows = conn.execute("SELECT count(*) FROM consumption_1mo").fetchone()
    return int(rows[0]) if rows else 0


def capture(engine: Engine) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    return sent


def measure(
    client: httpx.Client, headers: dict[str, str], params: dict[str, Any], runs: int
) -> tuple[list[float], dict[str, Any]]:
    body: dict[str, Any] = {}
    times = []
    for i in range(runs + 2):  # two warm-ups: caches, compiled statements
        t = time.perf_counter()
        resp = client.get("/api/v1/district/intensity/ranking", params=params, headers=headers)
        elapsed = time.perf_counter() - t
        resp.raise_for_status()
        body = resp.json()
        if i >= 2:
            times.append(elapsed)
    return times, body


def ceiling(db: DatabaseSettings, app_engine: Engine, call: Any, runs: int) -> tuple[float, int]:
    """The SQL one computation issues, replayed by psycopg: best of ``runs``."""
    sent = capture(app_engine)
    call()
    statements = list(sent)
    best = float("inf")
    # as the API's engine runs them: no JIT, no parallel workers (services/core/db.py)
    options = "-c jit=off -c max_parallel_workers_per_gather=0"
    with psycopg.connect(db.libpq_url, options=options) as raw:
        for _ in range(runs):
            t = time.perf_counter()
            for sql, params in statements:
                raw.execute(sql, params).fetchall()  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - t)
            raw.rollback()
    return best, len(statements)


def run_app(db: DatabaseSettings, ttl: float, runs: int) -> None:
    """Both rankings through one app with ``ENERGYMON_API_SNAPSHOT_TTL_S`` = ``ttl``."""
    settings = ApiSettings(
        jwt_keys="k1:bench-signing-key-bench-signing-key",
        snapshot_ttl_s=ttl,
        rate_limit_per_s=1_000_000,
        rate_limit_burst=1_000_000,
        argon2_time_cost=1,
        argon2_memory_kib=64,
    )  # type: ignore[call-arg]
    app = create_app(ApiConfig(CommonSettings(), db, settings, IngestSettings()))
    mode = f"snapshots {ttl:g} s" if ttl else "computed per request"
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        headers = {"Authorization": f"Bearer {token(client, 'officer', PASSWORD)}"}
        for period, by in (("month", "intensity"), ("ytd", "quota_distance")):
            params = {"year": YEAR, "month": MONTH, "period": period, "by": by}
            times, body = measure(client, headers, params, runs)
            sql_s, statements = ceiling(
                db,
                app.state.ctx.reads,
                lambda p=params: compute(app, p),
                runs,
            )
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(
                f"{mode}: ranking {period} by {by}: {len(body['ranked'])} ranked, "
                f"{len(body['insufficient'])} apart; p50 {p50 * 1000:.1f} ms, "
                f"p95 {p95 * 1000:.1f} ms; ceiling (one computation's {statements} statements "
                f"replayed by psycopg) {sql_s * 1000:.1f} ms; ratio p50/ceiling "
                f"{p50 / sql_s:.2f}; target p95 < {TARGET_P95_S * 1000:.0f} ms "
                f"{'met' if p95 < TARGET_P95_S else 'NOT met'}"
            )


def compute(app: Any, params: dict[str, Any]) -> None:
    """One computation of the district's figures, as the route's snapshot makes it."""
    from services.api.routes.intensity import _figures, _window

    ctx = app.state.ctx
    window = _window(ctx, params["year"], params["month"], params["period"])
    _figures(ctx, window, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    private = Private()
    try:
        server = resolve_postgres(private)
        name = dbs.create_template(server)
        try:
            db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
            configure_hasher(1, 64)
            started = time.perf_counter()
            rows = load(db, args.enterprises, args.months)
            print(
                f"{args.enterprises} enterprises, {2 * args.enterprises} products, "
                f"{rows:,} point-months loaded in {time.perf_counter() - started:.0f} s"
            )
            for ttl in (30.0, 0.0):
                run_app(db, ttl, args.runs)
        finally:
            dbs.drop(server, name)
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
