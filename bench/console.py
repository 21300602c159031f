"""The console's two heaviest pages at the API benchmark's size: the district overview
(``/console/``) and the PUE ranking (``/console/data-centres``) — or, with ``--page``, the
budgets page and the rankings' XLSX files (``?xlsx=pue-ranking``) — p50/p95 of the time from
request to the last byte over loopback (the server's time: uvicorn in this process, one client,
keep-alive), with the shared snapshots on (``ENERGYMON_API_SNAPSHOT_TTL_S`` default: the first
request computes them, timed apart) and, with ``--per-request``, off (0: every request
computes). With ``--enterprise CODE`` the pages are those an enterprise account of CODE sees (its
overview is computed on every request: it covers one enterprise, so there is no shared snapshot).

The district is bench/api.py's (N enterprises, M meters, D days of 15-minute and daily rollups,
alerts), seeded by the same code, or a database it kept (``--database``). The officer logs in
through the console's form. Ceiling in the same run: the SQL statements the first (computing)
request issues (both engines: the session's and the page's reads), replayed with psycopg on an
open connection with the API engine's options, best of 3; the ratio is that request's time over
it.

Usage: .venv/bin/python bench/console.py [--enterprises 300] [--meters 3000] [--days 365]
       [--runs 40] [--page /console/data-centres] [--per-request] [--keep]
       [--database NAME] [--enterprise 911201110000000003]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL, 127.0.0.1:5432, or a private server).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg
from sqlalchemy import Engine, event, text

from bench.api import OFFICER, PASSWORD, _prepare
from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.security import Role, configure_hasher
from services.api.users import create_user
from services.core.db import make_engine
from services.core.settings import ApiSettings, CommonSettings, DatabaseSettings, IngestSettings
from tests.support import db as dbs
from tests.support.api import serve
from tests.support.services import Private, resolve_postgres

TARGET_P95_S = 0.300
PAGES = ("/console/", "/console/data-centres")
# a table's XLSX file is its page's route writing one table instead of the HTML
EXPORTS = (
    "/console/data-centres?xlsx=pue-ranking",
    "/console/budgets",
    "/console/budgets?xlsx=budget-ranking",
)
# as the API's engine runs statements: no JIT, no parallel workers (services/core/db.py)
ENGINE_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0"
ENTERPRISE_USER = "bench-enterprise"


def enterprise_account(db: DatabaseSettings, code: str) -> None:
    """(Re)create the bench's enterprise account of enterprise ``code``."""
    engine = make_engine(db)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_users WHERE username = :u"), {"u": ENTERPRISE_USER})
            create_user(
                conn,
                username=ENTERPRISE_USER,
                password=PASSWORD,
                role=Role.ENTERPRISE,
                enterprise_code=code,
            )
    finally:
        engine.dispose()


def log_in(client: httpx.Client, username: str) -> None:
    client.get("/console/login").raise_for_status()
    token = client.cookies.get("energymon_csrf", path="/console")
    resp = client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
    )
    if resp.status_code != 303:
        raise SystemExit(f"console login failed: {resp.status_code} {resp.text[:200]}")


def timed(client: httpx.Client, page: str, runs: int) -> list[float]:
    """``runs`` requests after one warm-up (compiled statements, caches)."""
    client.get(page).raise_for_status()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        client.get(page).raise_for_status()
        times.append(time.perf_counter() - t)
    return times


@contextmanager
def recorded(engines: Iterable[Engine]) -> Iterator[list[tuple[str, Any]]]:
    """The statements the engines send inside the block, in order."""
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, params))

    engines = list(engines)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def ceiling(libpq_url: str, statements: list[tuple[str, Any]], runs: int) -> float:
    best = float("inf")
    with psycopg.connect(libpq_url, options=ENGINE_OPTIONS) as raw:
        for _ in range(runs):
            t = time.perf_counter()
            for sql, params in statements:
                raw.execute(sql, params).fetchall()
            best = min(best, time.perf_counter() - t)
            raw.rollback()
    return best


def run_app(
    db: DatabaseSettings, ttl: float | None, runs: int, pages: list[str], username: str
) -> None:
    overrides: dict[str, Any] = {} if ttl is None else {"snapshot_ttl_s": ttl}
    settings = ApiSettings(
        jwt_keys="k1:bench-signing-key-bench-signing-key",
        rate_limit_per_s=1_000_000,
        rate_limit_burst=1_000_000,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        **overrides,
    )
    app = create_app(ApiConfig(CommonSettings(), db, settings, IngestSettings()))
    ctx = app.state.ctx
    mode = "computed per request" if ttl == 0 else f"snapshots {settings.snapshot_ttl_s:g} s"
    if username != OFFICER:
        mode = f"{username}, {mode}"
    with serve(app) as url, httpx.Client(base_url=url, timeout=1800) as client:
        log_in(client, username)
        for page in pages:
            # the first request computes the page's figures (with snapshots: the snapshot)
            engines = {id(e): e for e in (ctx.engine, ctx.reads)}.values()
            with recorded(engines) as statements:
                t = time.perf_counter()
                client.get(page).raise_for_status()
                first_s = time.perf_counter() - t
            sql_s = ceiling(db.libpq_url, statements, 3)
            print(
                f"{mode}: {page}: first request {first_s * 1000:,.0f} ms; ceiling (its "
                f"{len(statements)} statements replayed by psycopg, best of 3) "
                f"{sql_s * 1000:,.0f} ms; ratio {first_s / sql_s:.2f}",
                flush=True,
            )
            times = timed(client, page, runs)
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(
                f"{mode}: {page}: then p50 {p50 * 1000:,.1f} ms, p95 {p95 * 1000:,.1f} ms over "
                f"{runs} requests; target p95 < {TARGET_P95_S * 1000:.0f} ms "
                f"{'met' if p95 < TARGET_P95_S else 'NOT met'}",
                flush=True,
            )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--meters", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--page",
        action="append",
        choices=PAGES + EXPORTS,
        help="only this page or table file (repeatable)",
    )
    parser.add_argument(
        "--per-request",
        action="store_true",
        help="also measure with the snapshots off (every request computes: slow at 365 days)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--database", help="reuse a database seeded and kept by bench/api.py")
    parser.add_argument(
        "--enterprise",
        metavar="CODE",
        help="as an enterprise account of CODE (e.g. 911201110000000003) instead of the officer",
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average {' '.join(load)} before the run")
    zone = CommonSettings().zone
    configure_hasher(1, 64)  # cheap hashes: the benchmark logs in once per mode
    private = Private()
    try:
        server = resolve_postgres(private)
        name = args.database
        if name is None:
            template = dbs.create_template(server)
            name = dbs.clone(server, template)
            dbs.drop(server, template)
        try:
            db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
            started = time.perf_counter()
            district = _prepare(args, db, zone)
            print(
                f"district: {district.enterprises} enterprises, ~{district.rows:,} 15-minute "
                f"rows, {district.days:,} point-days, {district.alerts} alerts "
                f"(ready in {time.perf_counter() - started:.0f} s)"
            )
            username = OFFICER
            if args.enterprise is not None:
                enterprise_account(db, args.enterprise)
                username = ENTERPRISE_USER
            for ttl in (None, 0.0) if args.per_request else (None,):
                run_app(db, ttl, args.runs, args.page or list(PAGES), username)
        finally:
            if args.keep or args.database:
                print(f"kept database {name}: --database {name}")
            else:
                dbs.drop(server, name)
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
