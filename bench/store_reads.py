"""CPU time per call of the store reads behind the API, in one process, on a database seeded by
``bench/api.py --seed-only`` (issue: the architecture's benchmark constraint).

Each read is called ``--warmup`` times unmeasured, then ``--calls`` times, each timed with
``time.process_time`` (this process's CPU: building, compiling or finding the statement, binding,
reading the rows; the database's own work is in another process). Prints the median per read.
With ``--echo`` the first read is only called twice, its statements logged (``[cached since …]``
when the compiled form is reused).

Usage: .venv/bin/python bench/store_reads.py --database NAME [--calls 200] [--warmup 20] [--echo]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Connection, create_engine, select, text

from services.core.factors import default_factors
from services.core.schema.tables import enterprises, meters, sites
from services.core.store.consumption import consumption, consumption_json, totals_by_period
from services.core.store.pue import site_pue
from services.core.store.scope import Scope

ZONE = ZoneInfo("Asia/Shanghai")


def _codes(conn: Connection) -> tuple[str, str, str, str]:
    """An enterprise and site with a data centre, and any enterprise's first site."""
    dc = conn.execute(
        select(enterprises.c.code, sites.c.code.label("site"))
        .join(sites, sites.c.enterprise_id == enterprises.c.id)
        .join(meters, meters.c.site_id == sites.c.id)
        .where(meters.c.role == "facility_total")
        .order_by(enterprises.c.code)
        .limit(1)
    ).one()
    first = conn.execute(
        select(enterprises.c.code, sites.c.code.label("site"))
        .join(sites, sites.c.enterprise_id == enterprises.c.id)
        .order_by(enterprises.c.code, sites.c.code)
        .limit(1)
    ).one()
    return first.code, first.site, dc.code, dc.site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--echo", action="store_true")
    args = parser.parse_args()
    engine = create_engine(f"{args.server}/{args.database}", echo=args.echo)
    now = datetime.now(UTC)
    year = datetime(now.astimezone(ZONE).year, 1, 1, tzinfo=ZONE)
    with engine.connect() as conn:
        conn.execute(text("SET TimeZone = 'Asia/Shanghai'"))
        code, site, dc_code, dc_site = _codes(conn)
        factors = default_factors()
        year_of_days: dict[str, Any] = {
            "start": year,
            "end": now,
            "interval": "1d",
            "zone": ZONE,
            "scope": Scope(enterprise=code, site=site),
            "now": now,
        }
        reads: dict[str, Callable[[], Any]] = {
            "consumption_json, a site's year at 1d": lambda: consumption_json(conn, **year_of_days),
            "consumption, the same rows as objects": lambda: consumption(conn, **year_of_days),
            "totals_by_period, an enterprise's months": lambda: totals_by_period(
                conn,
                factors,
                start=year,
                end=now,
                zone=ZONE,
                interval="1mo",
                scope=Scope(enterprise=code),
            ),
            "site_pue, a data centre's last 7 days": lambda: site_pue(
                conn,
                enterprise=dc_code,
                site=dc_site,
                start=now - timedelta(days=7),
                end=now,
                zone=ZONE,
                now=now,
            ),
        }
        if args.echo:  # the first read, twice, logged
            for _ in range(2):
                next(iter(reads.values()))()
            return
        for name, read in reads.items():
            for _ in range(args.warmup):
                read()
            spent = []
            for _ in range(args.calls):
                t0 = time.process_time()
                read()
                spent.append(time.process_time() - t0)
            print(f"{name}: {statistics.median(spent) * 1000:.2f} ms CPU per call")


if __name__ == "__main__":
    main()
