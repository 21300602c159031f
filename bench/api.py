"""API latency and throughput on a seeded district: p50/p95 at concurrency 16 for the four reads a
dashboard makes, and requests/s for the mixed set (issue 6).

A fresh migrated database gets a generated district (SQL generate_series): N enterprises across
the eight towns of Xiqing, two sites each (every tenth enterprise runs a data centre with
facility_total and it_load meters), M meters with an ``energy_import_kwh`` point each, a budget per
enterprise for the current year (electricity in kWh, every third comprehensive energy in tce), D
days of 15-minute rollups written straight into ``consumption_15m`` (one INSERT ... SELECT per 30
days, in time order as the rollup job writes them), ``consumption_1d`` built by ``rebuild_days``
(``energymon accounting rebuild-days``), a few hundred alerts through the alert store, then
VACUUM ANALYZE so that autovacuum does not run during the measurement. Seeding is timed apart.

The API is the production entry point, ``energymon api`` with ``--workers`` processes
(ENERGYMON_API_WORKERS, default one per core), in a child process on a loopback port;
``--server thread`` serves ``create_app`` in this process instead (it then shares the GIL with
the load generator). The per-credential rate limiter is raised
(ENERGYMON_API_RATE_LIMIT_PER_S/_BURST) so that one officer token can drive the load. Load:
closed loop, C clients (threads, one keep-alive ``http.client`` connection each), each query
alone for S seconds, then the mixed set (the four in turn). Ceilings in the same run:
``/healthz`` at the same concurrency (the HTTP framework), and the SQL each route runs —
recorded by calling the route functions once in-process — replayed with psycopg on C
connections (the database).

Usage: .venv/bin/python bench/api.py [--enterprises 300] [--meters 3000] [--days 365]
       [--seconds 20] [--concurrency 16] [--routes consumption,alerts] [--workers N]
       [--server process|thread] [--keep] [--database NAME]
       [--seed-only] [--explain] [--plans]
Needs PostgreSQL (ENERGYMON_TEST_DATABASE_URL, 127.0.0.1:5432, or a private server).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg
from sqlalchemy import Connection, Engine, event, text

from bench import storage
from services.accounting.days import rebuild_days
from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.params import PageRequest
from services.api.routes import alerts as alert_routes
from services.api.routes import budgets, consumption, pue
from services.api.security import Principal, Role, configure_hasher
from services.api.users import create_user
from services.core.alerting.lifecycle import Finding, Open, Severity
from services.core.alerting.store import acknowledge, apply, resolve
from services.core.db import make_engine
from services.core.schema.migrate import upgrade
from services.core.settings import ApiSettings, CommonSettings, DatabaseSettings, IngestSettings
from services.core.store.scope import Scope
from simulators.gateways.fleet import TOWNS
from tests.support import db as dbs
from tests.support.api import serve
from tests.support.services import Private, free_port, resolve_postgres, wait_for

INDUSTRIES = ("C33", "C17", "C26", "C36", "C13", "C30", "C39", "C34")
DC_EVERY = 10  # every tenth enterprise runs a data centre
CHUNK_DAYS = 30
OFFICER = "bench-officer"
PASSWORD = secrets.token_urlsafe(18)
KINDS = ("consumption", "pue_ranking", "budgets", "alerts")
TARGET_P95_S = 0.100
TARGET_MIXED_RPS = 300.0
TCE_PER_KWH = 0.0001229  # electricity, equivalent method: 0.1229 kgce/kWh
SESSION = f"-c jit=off -c max_parallel_workers_per_gather=0 -c TimeZone={CommonSettings().zone.key}"

REGISTRY = """
INSERT INTO enterprises (code, name, industry, town, grid_region)
SELECT '91120111' || lpad(i::text, 10, '0'),
       (CAST(:towns AS text[]))[1 + i % 8] || ' bench enterprise ' || i,
       CASE WHEN i % :dc_every = 0 THEN 'I65'
            ELSE (CAST(:industries AS text[]))[1 + (i / 8) % 8] END,
       (CAST(:towns AS text[]))[1 + i % 8], 'north'
FROM generate_series(1, :enterprises) i;
INSERT INTO sites (enterprise_id, code, name, kind, dc_class)
SELECT id, 'plant', 'Plant', 'industrial', NULL FROM enterprises
UNION ALL
SELECT id, dc.code, dc.name, dc.kind, dc.dc_class
FROM enterprises e CROSS JOIN LATERAL (
    SELECT * FROM (VALUES
        ('dc-1', 'Data centre', 'data_centre',
         CASE WHEN e.id % 2 = 0 THEN 'existing' ELSE 'new_large' END),
        ('office', 'Office', 'public_building', NULL)) AS v(code, name, kind, dc_class)
    WHERE (v.kind = 'data_centre') = (right(e.code, 10)::int % :dc_every = 0)) dc;
INSERT INTO meters (enterprise_id, site_id, code, carrier, protocol, role, created_at)
SELECT e.id, s.id, 'M-' || lpad(j::text, 3, '0'), 'electricity', 'mqtt',
       CASE WHEN s.kind = 'data_centre' THEN
                CASE WHEN j - :half <= greatest(1, (:per_enterprise - :half) / 2)
                     THEN 'facility_total' ELSE 'it_load' END
            WHEN j = 1 OR j = :half + 1 THEN 'boundary' ELSE 'sub' END,
       :created
FROM enterprises e CROSS JOIN generate_series(1, :per_enterprise) j
JOIN sites s ON s.enterprise_id = e.id AND (s.code = 'plant') = (j <= :half);
INSERT INTO points (meter_id, quantity, unit, kind, interval_s)
SELECT id, 'energy_import_kwh', 'kWh', 'cumulative', 900 FROM meters;
CREATE TEMP TABLE bench_load AS  -- kWh per 15 minutes; data centres' PUE 1.15-1.50
SELECT p.id AS point_id,
       CASE m.role
           WHEN 'it_load' THEN 50.0 + (m.site_id % 5) * 10
           WHEN 'facility_total' THEN (50.0 + (m.site_id % 5) * 10) * c.it
                                      * (1.15 + (m.site_id % 8) * 0.05) / c.fac
           WHEN 'boundary' THEN 40.0 + (p.id % 40) * 5
           ELSE 4.0 + p.id % 10 END AS energy,
       m.role, m.enterprise_id
FROM points p JOIN meters m ON m.id = p.meter_id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE x.role = 'it_load') AS it,
           count(*) FILTER (WHERE x.role = 'facility_total') AS fac
    FROM meters x WHERE x.site_id = m.site_id) c;
INSERT INTO budgets (enterprise_id, year, carrier, amount, unit)
SELECT enterprise_id, :year, CASE WHEN enterprise_id % 3 = 0 THEN '' ELSE 'electricity' END,
       sum(energy) * 35040 * (0.85 + (enterprise_id % 7) * 0.1)
           * CASE WHEN enterprise_id % 3 = 0 THEN :tce_per_kwh ELSE 1 END,
       CASE WHEN enterprise_id % 3 = 0 THEN 'tce' ELSE 'kWh' END
FROM bench_load WHERE role IN ('boundary', 'facility_total') GROUP BY enterprise_id
"""

# Bucket-major (every point's bucket i, then i + 1), the order the rollup job writes them in:
# the lateral reference to i keeps generate_series on the outer side of the join.
ROLLUPS = """
INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, estimated)
SELECT l.point_id, :start + i * interval '15 minutes', l.energy, 1, 1, false
FROM generate_series(:i0, :i1 - 1) i
CROSS JOIN LATERAL (
    SELECT point_id, energy * CASE WHEN i % 96 BETWEEN 32 AND 79 THEN 1.2 ELSE 0.8 END AS energy
    FROM bench_load) l
"""


# ------------------------------------------------------------------ seeding


@dataclass(frozen=True)
class District:
    enterprises: int
    sites: list[tuple[str, str]]  # (enterprise code, site code): sites with counted meters
    rows: int
    days: int
    alerts: int


def _seed(engine: Engine, args: argparse.Namespace, now: datetime, zone: ZoneInfo) -> None:
    per_enterprise = args.meters // args.enterprises
    if per_enterprise < 4:
        raise SystemExit("--meters must be at least 4 x --enterprises")
    start = now - timedelta(days=args.days)
    t0 = time.perf_counter()
    with engine.connect() as conn:  # one session: bench_load is a temporary table
        for statement in filter(str.strip, REGISTRY.split(";\n")):
            conn.execute(
                text(statement),
                {
                    "towns": list(TOWNS),
                    "industries": list(INDUSTRIES),
                    "dc_every": DC_EVERY,
                    "enterprises": args.enterprises,
                    "per_enterprise": per_enterprise,
                    "half": (per_enterprise + 1) // 2,
                    "created": start - timedelta(days=1),
                    "year": now.astimezone(zone).year,
                    "tce_per_kwh": TCE_PER_KWH,
                },
            )
        conn.commit()
        meters = conn.execute(text("SELECT count(*) FROM meters")).scalar_one()
        print(
            f" registry: {args.enterprises} enterprises, {meters} meters  "
            f"{time.perf_counter() - t0:6.1f} s"
        )
        buckets = args.days * 96
        written = 0
        t1 = time.perf_counter()
        for i0 in range(0, buckets, CHUNK_DAYS * 96):
            i1 = min(buckets, i0 + CHUNK_DAYS * 96)
            tc = time.perf_counter()
            written += conn.execute(text(ROLLUPS), {"start": start, "i0": i0, "i1": i1}).rowcount
            conn.commit()
            print(
                f"  rollups to {start + timedelta(minutes=15 * i1):%Y-%m-%d}: {written:,} rows "
                f"({(i1 - i0) * meters / (time.perf_counter() - tc):,.0f} rows/s)",
                flush=True,
            )
        print(f" 15-minute rollups: {written:,} rows  {time.perf_counter() - t1:6.1f} s")
    t1 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '256MB'"))  # the seed's own aggregation only
        days = rebuild_days(conn, zone)
    print(f" daily rollups (rebuild_days): {days:,} point-days  {time.perf_counter() - t1:6.1f} s")
    t1 = time.perf_counter()
    with engine.begin() as conn:
        alerts = _seed_alerts(conn, now)
    print(f" alerts: {alerts}  {time.perf_counter() - t1:6.1f} s")
    t1 = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
    print(f" VACUUM ANALYZE  {time.perf_counter() - t1:6.1f} s")
    print(f" seeded in {time.perf_counter() - t0:.1f} s")


def _seed_alerts(conn: Connection, now: datetime) -> int:
    """Silent meters (every tenth meter), PUE over limit (every other data centre) and budget
    warnings (every fourth budget), opened over the last 60 days; a third of them resolved and
    some acknowledged, each through the alert store so that every alert has its history."""
    rng = random.Random(6)
    found: list[Finding] = []
    for mid, eid, ent, meter in conn.execute(
        text(
            "SELECT m.id, e.id, e.code, m.code FROM meters m JOIN enterprises e "
            "ON e.id = m.enterprise_id WHERE m.id % 10 = 0 ORDER BY m.id"
        )
    ):
        found.append(
            Finding(
                "silent_meter",
                "meter",
                mid,
                f"{ent}/{meter}",
                "",
                True,
                title=f"meter {meter} silent",
                value=3600.0,
                limit=2700.0,
                enterprise_id=eid,
                evidence={"last_reading_at": None},
            )
        )
    for sid, eid, ent, site in conn.execute(
        text(
            "SELECT s.id, e.id, e.code, s.code FROM sites s JOIN enterprises e "
            "ON e.id = s.enterprise_id WHERE s.kind = 'data_centre' AND s.id % 2 = 0"
        )
    ):
        found.append(
            Finding(
                "pue_over_limit",
                "site",
                sid,
                f"{ent}/{site}",
                "ytd",
                True,
                Severity.CRITICAL,
                title=f"PUE 1.41 of {ent}/{site} above its limit 1.25 (ytd)",
                value=1.41,
                limit=1.25,
                enterprise_id=eid,
                evidence={"facility_kwh": 1.0, "it_kwh": 1.0},
            )
        )
    for bid, eid, ent, year in conn.execute(
        text(
            "SELECT b.id, e.id, e.code, b.year FROM budgets b JOIN enterprises e "
            "ON e.id = b.enterprise_id WHERE b.id % 4 = 0"
        )
    ):
        found.append(
            Finding(
                "budget_warning",
                "budget",
                bid,
                f"{ent} {year}",
                str(year),
                True,
                title=f"{ent}: 82% of the budget used (threshold 80%)",
                value=0.82,
                limit=0.8,
                enterprise_id=eid,
                evidence={"share": 0.82},
            )
        )
    rng.shuffle(found)
    opened = sorted(now - timedelta(minutes=rng.uniform(10, 60 * 24 * 60)) for _ in found)
    for finding, at in zip(found, opened, strict=True):
        apply(conn, [Open(finding)], at)
    ids = conn.execute(text("SELECT id, opened_at FROM alerts ORDER BY id")).all()
    for n, (alert_id, at) in enumerate(ids):
        if n % 3 == 0:
            resolve(conn, alert_id, OFFICER, at + timedelta(hours=2), "fixed on site")
        elif n % 5 == 0:
            acknowledge(conn, alert_id, OFFICER, at + timedelta(minutes=30), "looking into it")
    return len(ids)


def _district(engine: Engine) -> District:
    with engine.connect() as conn:
        sites = conn.execute(
            text("""
            SELECT e.code, s.code FROM sites s JOIN enterprises e ON e.id = s.enterprise_id
            WHERE s.kind <> 'public_building' ORDER BY e.code, s.code""")
        ).all()
        rows = conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'consumption_15m'")
        ).scalar_one()
        days = conn.execute(text("SELECT count(*) FROM consumption_1d")).scalar_one()
        alerts = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
        enterprises = conn.execute(text("SELECT count(*) FROM enterprises")).scalar_one()
    return District(int(enterprises), [(e, s) for e, s in sites], int(rows), int(days), int(alerts))


# ------------------------------------------------------------------ the requests


@dataclass(frozen=True)
class Request:
    kind: str
    path: str
    params: dict[str, str] = field(default_factory=dict)


class Requests:
    """The four dashboard reads; a site's consumption picks a random enterprise's site."""

    def __init__(self, district: District, zone: ZoneInfo) -> None:
        self.sites = district.sites
        self.zone = zone

    def year(self) -> tuple[datetime, datetime]:
        """The last 365 local days and today so far."""
        now = datetime.now(UTC)
        today = now.astimezone(self.zone).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=365), now

    def make(self, kind: str, rng: random.Random) -> Request:
        if kind == "consumption":
            ent, site = rng.choice(self.sites)
            start, end = self.year()
            return Request(
                kind,
                f"/api/v1/enterprises/{ent}/consumption",
                {
                    "site": site,
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "interval": "1d",
                },
            )
        if kind == "pue_ranking":
            return Request(kind, "/api/v1/data-centres/pue-ranking")
        if kind == "budgets":
            return Request(kind, "/api/v1/budgets/status")
        if kind == "alerts":
            return Request(kind, "/api/v1/alerts")
        return Request(kind, "/healthz")


# ------------------------------------------------------------------ load and CPU


@dataclass
class Samples:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    warmed: bool = True  # False: measured from the first requests (slower than the warm-up)
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by process group

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def pct(self, q: float, kind: str | None = None) -> float:
        values = sorted(
            self.latencies.get(kind, [])
            if kind
            else [x for v in self.latencies.values() for x in v]
        )
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]


Worker = Callable[[random.Random, int], str]  # performs one request, returns its kind


class _Window:
    """The measured window of a closed loop. When every client has finished a request within
    the warm-up, it is the ``seconds`` after the warm-up; otherwise (a query slower than the
    warm-up) it starts with the first requests, so that a slow query costs one round, not two.
    Requests started inside the window are measured to their end."""

    def __init__(self, clients: int, seconds: float, warmup: float) -> None:
        self.t0 = time.perf_counter()
        self.seconds = seconds
        self.warmup = warmup
        self.waiting = clients
        self.warm_at = float("inf")
        self.lock = threading.Lock()

    def first_done(self) -> None:
        with self.lock:
            self.waiting -= 1
            if self.waiting == 0:
                self.warm_at = time.perf_counter()

    @property
    def warmed(self) -> bool:
        return self.warm_at <= self.t0 + self.warmup

    @property
    def opened(self) -> float:
        return self.t0 + self.warmup if self.warmed else self.t0

    def closed(self, now: float) -> bool:
        return now >= self.t0 + self.warmup and now >= self.opened + self.seconds


def _closed_loop(workers: Sequence[Worker], seconds: float, warmup: float) -> Samples:
    """Each worker in its own thread, one request after another (see :class:`_Window`)."""
    window = _Window(len(workers), seconds, warmup)
    results: list[tuple[str, float, float]] = []  # kind, start, end
    errors = [0]
    lock = threading.Lock()

    def run(index: int, work: Worker) -> None:
        rng = random.Random(index)
        n = index  # the mixed set starts each client at another query
        mine: list[tuple[str, float, float]] = []
        failed = 0
        while not window.closed(start := time.perf_counter()):
            try:
                kind = work(rng, n)
            except Exception as err:  # noqa: BLE001 - count it, show the first, keep loading
                if failed == 0:
                    print(f"  ! {type(err).__name__}: {err}"[:300])
                failed += 1
                continue
            finally:
                if n == index:
                    window.first_done()
                n += 1
            mine.append((kind, start, time.perf_counter()))
        with lock:
            errors[0] += failed
            results.extend(mine)

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lo = window.opened
    measured = [(kind, start, end) for kind, start, end in results if start >= lo]
    last = max((end for _, _, end in measured), default=lo + seconds)
    samples = Samples(max(seconds, last - lo), errors=errors[0], warmed=window.warmed)
    for kind, start, end in measured:
        samples.latencies.setdefault(kind, []).append(end - start)
    return samples


class CpuProbe:
    """CPU used during a phase, in cores: the whole machine (steal excluded), the API process,
    this process (the load generator) and the PostgreSQL processes of the benchmark's database
    (backends and parallel workers, sampled every 0.2 s); "others" is the rest of the machine."""

    def __init__(self, api_pid: int | None, pg_url: str, database: str) -> None:
        self.api_pid = api_pid
        self.pg_url = pg_url
        self.database = database
        self.tick = os.sysconf("SC_CLK_TCK")

    def _proc(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.tick

    def _tree(self, pid: int) -> float:
        """CPU of a process and its children (the API's worker processes)."""
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return self._proc(pid) + sum(self._tree(int(c)) for c in children)

    @staticmethod
    def _machine() -> float:
        """Busy ticks of the whole machine (user, nice, system, irq, softirq; not steal)."""
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return float(values[0] + values[1] + values[2] + values[5] + values[6])

    def _sample_postgres(self, stop: threading.Event) -> float:
        """Seconds of CPU the database's processes used until ``stop``."""
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            query = (
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            )
            initial = True
            while True:
                for (pid,) in conn.execute(query, (self.database,)).fetchall():
                    used = self._proc(int(pid))
                    # a process born during the phase used all its CPU in it
                    first.setdefault(int(pid), used if initial else 0.0)
                    last[int(pid)] = max(last.get(int(pid), 0.0), used)
                initial = False
                if stop.wait(0.2):
                    break
        return sum(last[pid] - first[pid] for pid in last)

    def run(self, phase: Callable[[], Samples]) -> Samples:
        """Run ``phase`` and attach the CPU it used, in cores, to its samples."""
        stop = threading.Event()
        postgres = [0.0]
        sampler = threading.Thread(
            target=lambda: postgres.__setitem__(0, self._sample_postgres(stop))
        )
        wall, machine, mine = time.perf_counter(), self._machine(), os.times()
        api = self._tree(self.api_pid) if self.api_pid else 0.0
        sampler.start()
        samples = phase()
        stop.set()
        sampler.join()
        elapsed = time.perf_counter() - wall
        used = os.times()
        samples.cpu = {
            "machine": (self._machine() - machine) / self.tick / elapsed,
            "bench": (used.user + used.system - mine.user - mine.system) / elapsed,
            "postgres": postgres[0] / elapsed,
        }
        if self.api_pid:
            samples.cpu["api"] = (self._tree(self.api_pid) - api) / elapsed
        ours = sum(v for k, v in samples.cpu.items() if k != "machine")
        samples.cpu["others"] = samples.cpu["machine"] - ours
        return samples


def _http_workers(
    stack: ExitStack, url: str, token: str, reqs: Requests, *, kinds: Sequence[str], clients: int
) -> list[Worker]:
    """One keep-alive HTTP/1.1 connection per client (``http.client``: about a third of httpx's
    CPU per request, which the load generator would otherwise take from the API on this
    machine); the body is read whole and the status checked."""
    parsed = urllib.parse.urlsplit(url)
    headers = {"Authorization": f"Bearer {token}"}

    def worker() -> Worker:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=1800)
        stack.callback(conn.close)

        def work(rng: random.Random, n: int) -> str:
            req = reqs.make(kinds[n % len(kinds)], rng)
            target = req.path + ("?" + urllib.parse.urlencode(req.params) if req.params else "")
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{req.path}: HTTP {resp.status} {body[:200]!r}")
            return req.kind

        return work

    return [worker() for _ in range(clients)]


# ------------------------------------------------------------------ the SQL ceiling

Statement = tuple[str, Any]  # as the driver received it: psycopg paramstyle and parameters


def _record_sql(
    config: ApiConfig, reqs: Requests, district: District, variants: int
) -> dict[str, list[list[Statement]]]:
    """The statements each route runs, recorded by calling the route functions once in-process;
    the consumption route's for ``variants`` sites, each called for its own site: its statement
    carries the site's points as array parameters, so another site's codes with the first
    site's arrays would join nothing and replay a cheaper statement than the API runs."""
    app = create_app(config)
    ctx = app.state.ctx
    recorded: list[Statement] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool
    ) -> None:
        recorded.append((statement, params))

    event.listen(ctx.engine, "before_cursor_execute", record)
    who = Principal(user_id=0, username=OFFICER, role=Role.OFFICER)
    out: dict[str, list[list[Statement]]] = {}
    start, end = reqs.year()
    chosen = [district.sites[0], *random.Random(1).choices(district.sites, k=variants - 1)]
    for kind in KINDS:
        recorded.clear()
        if kind == "consumption":
            out[kind] = []
            for ent, site in chosen:
                recorded.clear()
                scope = Scope(enterprise=ent, site=site)
                series = consumption.SeriesQuery(
                    scope=scope, start=start, end=end, interval="1d", tz=None
                )
                consumption.enterprise_consumption(ctx, who, series)
                out[kind].append(list(recorded))
            continue
        if kind == "pue_ranking":
            pue.pue_ranking(ctx, who, "ytd")
        elif kind == "budgets":
            budgets.budget_ranking(ctx, who)
        else:
            alert_routes.list_alerts(ctx, who, alert_routes.AlertFilters(), PageRequest(100))
        out[kind] = [list(recorded)]
    ctx.writers.close()
    ctx.engine.dispose()
    return out


def _sql_workers(
    stack: ExitStack,
    url: str,
    work: dict[str, list[list[Statement]]],
    *,
    kinds: Sequence[str],
    clients: int,
) -> list[Worker]:
    def worker() -> Worker:
        # the API's session settings: no JIT, no parallel workers, the calendar zone
        conn = stack.enter_context(psycopg.connect(url, autocommit=True, options=SESSION))

        def run(rng: random.Random, n: int) -> str:
            kind = kinds[n % len(kinds)]
            with conn.transaction():  # the route's connection runs in one transaction too
                for statement, params in rng.choice(work[kind]):
                    conn.execute(statement, params).fetchall()
            return kind

        return run

    return [worker() for _ in range(clients)]


# ------------------------------------------------------------------ the API under test


def _api_settings(rate: float) -> dict[str, str]:
    return {
        "ENERGYMON_ENV": "production",
        "ENERGYMON_API_JWT_KEYS": f"bench:{secrets.token_urlsafe(32)}",
        "ENERGYMON_API_TOKEN_TTL_S": "86400",
        "ENERGYMON_API_RATE_LIMIT_PER_S": str(rate),
        "ENERGYMON_API_RATE_LIMIT_BURST": str(int(rate)),
        "ENERGYMON_LOG_LEVEL": "WARNING",
    }


@contextmanager
def _api_process(db: DatabaseSettings, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """``energymon api`` as production runs it, on a free loopback port."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="energymon-bench-")) / "api.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "api"],
        env={
            **os.environ,
            **env,
            "ENERGYMON_DATABASE_URL": db.url,
            "ENERGYMON_API_HOST": "127.0.0.1",
            "ENERGYMON_API_PORT": str(port),
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    answer = ["no answer"]

    def ready() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"energymon api exited; see {log}")
        try:
            resp = httpx.get(f"{url}/readyz", timeout=2)
        except httpx.HTTPError as err:
            answer[0] = repr(err)
            return False
        answer[0] = resp.text.strip()
        return resp.status_code == 200

    try:
        try:
            wait_for(ready, 60, "energymon api to be ready")
        except TimeoutError as err:
            raise SystemExit(f"energymon api not ready: {answer[0]}; see {log}") from err
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def _api_thread(config: ApiConfig) -> Iterator[tuple[str, int | None]]:
    with serve(create_app(config)) as url:
        yield url, None


def _token(url: str) -> str:
    resp = httpx.post(
        f"{url}/api/v1/auth/token",
        data={"grant_type": "password", "username": OFFICER, "password": PASSWORD},
        timeout=30,
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


# ------------------------------------------------------------------ report


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _line(label: str, s: Samples, kind: str | None = None) -> str:
    n = len(s.latencies.get(kind, [])) if kind else s.count
    cpu = "  ".join(f"{k} {v:4.2f}" for k, v in s.cpu.items())
    return (
        f"  {label:<28} p50 {s.pct(0.5, kind) * 1000:8.1f} ms  p95 {s.pct(0.95, kind) * 1000:8.1f}"
        f" ms {n / s.seconds:7.1f} req/s (n {n}{'' if s.warmed else ', no warm-up'})"
        f"{f'  errors {s.errors}' if s.errors else ''}{f'  cpu: {cpu}' if cpu and not kind else ''}"
    )


def _measure(
    args: argparse.Namespace,
    *,
    url: str,
    reqs: Requests,
    sql: dict[str, list[list[Statement]]],
    probe: CpuProbe,
    libpq_url: str,
) -> None:
    kinds: tuple[str, ...] = args.routes
    token = _token(url)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=1800) as client:
        sizes = []
        for kind in kinds:
            req = reqs.make(kind, random.Random(0))
            resp = client.get(req.path, params=req.params)
            resp.raise_for_status()
            body = resp.json()
            sizes.append(f"{kind} {len(body['items'] if isinstance(body, dict) else body)}")
        print(f" responses (rows): {', '.join(sizes)}")
    c, s, w = args.concurrency, args.seconds, args.warmup

    def phase(label: str, make: Callable[[ExitStack], list[Worker]]) -> Samples:
        with ExitStack() as stack:
            workers = make(stack)
            samples = probe.run(lambda: _closed_loop(workers, s, w))
        print(_line(label, samples))
        return samples

    def http(kinds: Sequence[str]) -> Callable[[ExitStack], list[Worker]]:
        return lambda stack: _http_workers(stack, url, token, reqs, kinds=kinds, clients=c)

    def direct(kinds: Sequence[str]) -> Callable[[ExitStack], list[Worker]]:
        return lambda stack: _sql_workers(stack, libpq_url, sql, kinds=kinds, clients=c)

    print(f" closed loop, {c} clients, {s:.0f} s each after {w:.0f} s warm-up (cores used):")
    health = phase("GET /healthz (HTTP ceiling)", http(("healthz",)))
    api: dict[str, Samples] = {}
    db: dict[str, Samples] = {}
    for kind in kinds:
        api[kind] = phase(f"API {kind}", http((kind,)))
        db[kind] = phase(f"SQL {kind} (DB ceiling)", direct((kind,)))
    mixed = phase("API mixed", http(kinds))
    for kind in kinds:
        print(_line(f"  in the mix: {kind}", mixed, kind))
    mixed_db = phase("SQL mixed (DB ceiling)", direct(kinds))
    print(" summary (target: p95 < 100 ms each, mixed >= 300 req/s):")
    for kind in kinds:
        a, d = api[kind], db[kind]
        ok = "✔" if a.pct(0.95) < TARGET_P95_S else "✘"
        print(
            f"  {kind:<12} p50 {a.pct(0.5) * 1000:6.1f} ms  p95 {a.pct(0.95) * 1000:7.1f} ms "
            f"{ok}  {a.rate:6.1f} req/s; SQL alone {d.rate:7.1f} req/s, "
            f"ratio {_ratio(a.rate, d.rate):4.2f}; {_cpu_per_request(a)}"
        )
    ok = "✔" if mixed.rate >= TARGET_MIXED_RPS else "✘"
    print(
        f"  mixed        {mixed.rate:6.1f} req/s {ok}; SQL alone {mixed_db.rate:6.1f} req/s, ratio "
        f"{_ratio(mixed.rate, mixed_db.rate):4.2f}; /healthz {health.rate:6.1f} req/s, ratio "
        f"{_ratio(mixed.rate, health.rate):4.2f}; {_cpu_per_request(mixed)}"
    )


def _explain(url: str, sql: dict[str, list[list[Statement]]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements each route sent, with the API's session
    settings, warm (each statement once before)."""
    with psycopg.connect(url, autocommit=True, options=SESSION) as conn:
        for kind, calls in sql.items():
            for statement, params in calls[0]:
                conn.execute(statement, params).fetchall()
                plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).fetchall()
                print(f"{kind}: {statement.split(chr(10))[0][:100]}")
                print("    " + "\n    ".join(str(r[0]) for r in plan))


PLAN_MODES = (
    ("unprepared", None),
    ("prepared, plan_cache_mode auto", "auto"),
    ("prepared, force_generic_plan", "force_generic_plan"),
    ("prepared, force_custom_plan", "force_custom_plan"),
)


def _backend_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a PostgreSQL backend on this machine (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _replay(
    conn: psycopg.Connection[Any],
    calls: list[list[Statement]],
    rng: random.Random,
    requests: int,
    *,
    prepare: bool,
) -> None:
    for _ in range(requests):
        for statement, params in rng.choice(calls):
            conn.execute(statement, params, prepare=prepare).fetchall()


def _plans(url: str, calls: list[list[Statement]], requests: int = 300) -> None:
    """The consumption route's statements (each site's own) on one connection with the API's
    session settings: PostgreSQL CPU and wall time per request unprepared and prepared under
    each ``plan_cache_mode``, after 20 requests of warm-up, and the plans the server chose."""
    for label, mode in PLAN_MODES:
        with psycopg.connect(url, autocommit=True, options=SESSION) as conn:
            if mode is not None:
                conn.execute(f"SET plan_cache_mode = {mode}")
            pid = conn.info.backend_pid
            rng, prepare = random.Random(1), mode is not None
            _replay(conn, calls, rng, 20, prepare=prepare)
            cpu0, t0 = _backend_cpu_s(pid), time.perf_counter()
            _replay(conn, calls, rng, requests, prepare=prepare)
            cpu1, t1 = _backend_cpu_s(pid), time.perf_counter()
            plans = conn.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements ORDER BY name"
            ).fetchall()
        print(
            f"{label:32s} PostgreSQL CPU {1000 * (cpu1 - cpu0) / requests:5.2f} ms, wall "
            f"{1000 * (t1 - t0) / requests:5.2f} ms per request; (generic, custom) plans {plans}"
        )


def _cpu_per_request(s: Samples) -> str:
    """CPU time per request: the cores a phase used over its requests per second."""
    per = 1000 / s.rate if s.rate else 0.0
    return (
        f"CPU per request: API {s.cpu.get('api', 0.0) * per:.2f} ms + PostgreSQL "
        f"{s.cpu.get('postgres', 0.0) * per:.2f} ms"
    )


def _routes(value: str) -> tuple[str, ...]:
    routes = tuple(r.strip() for r in value.split(",") if r.strip())
    unknown = sorted(set(routes) - set(KINDS))
    if not routes or unknown:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(KINDS)}")
    return routes


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--meters", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--routes",
        type=_routes,
        default=KINDS,
        help=f"comma-separated reads to measure, of {','.join(KINDS)} (default all)",
    )
    parser.add_argument(
        "--server",
        choices=("process", "thread"),
        default="process",
        help="`energymon api` in a child process (production) or create_app in a thread here",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="ENERGYMON_API_WORKERS of the API process (default one per core)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed (and keep) the database, measure nothing"
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE each route's statements instead"
    )
    parser.add_argument(
        "--plans",
        action="store_true",
        help="PostgreSQL CPU of the consumption statements per plan cache mode instead",
    )
    parser.add_argument(
        "--database",
        help="reuse the database NAME seeded (and kept) by an earlier run, or seed it under "
        "that name if there is none; kept either way",
    )
    return parser.parse_args()


def _prepare(
    args: argparse.Namespace, db: DatabaseSettings, zone: ZoneInfo, *, seed: bool | None = None
) -> District:
    """Seed a fresh database (or reuse a kept one) and (re)create the officer account."""
    engine = make_engine(db)
    try:
        if not (args.database is None if seed is None else seed):
            upgrade(engine, db)  # a kept database may predate the newest migration
        else:
            now = datetime.now(UTC)
            now = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
            _seed(engine, args, now, zone)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_users WHERE username = :u"), {"u": OFFICER})
            create_user(conn, username=OFFICER, password=PASSWORD, role=Role.OFFICER)
        return _district(engine)
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, server: str, name: str, zone: ZoneInfo, *, seed: bool) -> None:
    db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
    print(f"database {name}{' (seeding)' if seed else ' (kept earlier)'}:")
    district = _prepare(args, db, zone, seed=seed)
    if seed:  # what the seeded rollups take on disk (VACUUMed by the seed)
        with psycopg.connect(db.libpq_url, autocommit=True) as conn:
            storage.print_sizes(storage.measure(conn, storage.cadences(None)))
    print(
        f"district: {district.enterprises} enterprises, ~{district.rows:,} 15-minute "
        f"rows, {district.days:,} point-days, {district.alerts} alerts"
    )
    env = _api_settings(1_000_000) | {"ENERGYMON_API_WORKERS": str(args.workers)}
    served = f"energymon api, {args.workers} worker(s)"
    print(
        f"API: {served if args.server == 'process' else 'in-process'}"
        f", rate limit raised to {env['ENERGYMON_API_RATE_LIMIT_PER_S']}/s for the benchmark"
    )
    config = ApiConfig(
        CommonSettings(),
        db,
        ApiSettings(
            jwt_keys=env["ENERGYMON_API_JWT_KEYS"],
            rate_limit_per_s=1_000_000,
            rate_limit_burst=1_000_000,
            argon2_time_cost=1,
            argon2_memory_kib=64,
        ),
        IngestSettings(),
    )
    if args.seed_only:
        return
    reqs = Requests(district, zone)
    sql = _record_sql(config, reqs, district, variants=50)
    if args.explain:
        _explain(db.libpq_url, sql)
        return
    if args.plans:
        _plans(db.libpq_url, sql["consumption"])
        return
    serving: AbstractContextManager[tuple[str, int | None]] = (
        _api_process(db, env) if args.server == "process" else _api_thread(config)
    )
    with serving as (url, pid):
        _measure(
            args,
            url=url,
            reqs=reqs,
            sql=sql,
            probe=CpuProbe(pid, server, name),
            libpq_url=db.libpq_url,
        )


def main() -> int:
    args = _arguments()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{os.cpu_count()} cores, load average {' '.join(load)} before the run")
    zone = CommonSettings().zone
    configure_hasher(1, 64)  # cheap hashes: the benchmark logs in once
    private = Private()
    try:
        server = resolve_postgres(private)
        name = args.database
        seed = name is None or not dbs.exists(server, name)
        if name is None:
            template = dbs.create_template(server)
            name = dbs.clone(server, template)
            dbs.drop(server, template)
        elif seed:  # a name not seeded yet: seeded now under that name, kept for later runs
            dbs.create_migrated(server, name)
        try:
            _run(args, server, name, zone, seed=seed)
        finally:
            if args.keep or args.database or args.seed_only:
                print(f"kept database {name}: --database {name}")
            else:
                dbs.drop(server, name)
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"load average {' '.join(load)} after the run")
    finally:
        private.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
