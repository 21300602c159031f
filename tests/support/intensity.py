"""A district with products and production figures for the intensity tests: the small district
(tests/fixtures/district_small.yaml) with a product per enterprise, counters fed for whole
months, and monthly entries written as the production-entry path stores them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.tables import enterprises, production_entries, products
from services.core.settings import DatabaseSettings
from tests.support.feed import point_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXTURE = Path(__file__).parent.parent / "fixtures" / "district_small.yaml"
ENT_A = "91120111MA05K8XX3E"
ENT_B = "91120111MA06L2QW8F"
# enterprise A: hot metal takes the plant's counted meters (M-100 electricity x80, G-1 gas) and
# is judged by GB 21256-2025's blast-furnace entry; enterprise B: cold storage takes a quarter of
# its one meter and has no quota
PRODUCTS_A = (
    "    products:\n"
    "      - {code: hot-metal, name: hot metal, unit: t, attribution: [{site: plant-1}],\n"
    "         quota: {standard: GB 21256-2025, product: steel_blast_furnace}}\n"
)
PRODUCTS_B = (
    "    products:\n"
    "      - {code: cold, name: cold storage, unit: t, "
    "attribution: [{meter: B-1, share: 0.25}]}\n"
)


def district_text() -> str:
    text = FIXTURE.read_text()
    a_end = text.index("  - code: 91120111MA06L2QW8F")
    return text[:a_end] + PRODUCTS_A + text[a_end:] + PRODUCTS_B


def provision(db: DatabaseSettings) -> None:
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(district_text()))
    engine.dispose()


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=SHANGHAI)


def feed_month(
    db: DatabaseSettings,
    month: date,
    steps: dict[tuple[str, str], float],
    skip: range = range(0),
) -> None:
    """Quarter-hourly counter readings for every bucket of ``month`` plus the reading that closes
    it, rising by ``steps[(meter, quantity)]`` each (so the month's energy is the step x the
    month's buckets x the multiplier); readings of the bucket indexes in ``skip`` are not sent."""
    first = month_start(month)
    nxt = month_start(date(month.year + month.month // 12, month.month % 12 + 1, 1))
    count = int((nxt - first).total_seconds() // 900) + 1
    rows = []
    for (meter, quantity), step in steps.items():
        pid = point_id(db, meter, quantity)
        rows += [
            (pid, first + timedelta(minutes=15 * i), 1000.0 + step * i, first, 1)
            for i in range(count)
            if i not in skip
        ]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    engine.dispose()


def enter(
    db: DatabaseSettings,
    enterprise: str,
    month: date,
    value: float,
    *,
    product: str | None = None,
    revision: int = 1,
    base_year: int | None = 2020,
) -> None:
    """A monthly figure: a product's output (in its unit) or the enterprise's value added."""
    engine = make_engine(db)
    with engine.begin() as conn:
        eid = conn.execute(
            select(enterprises.c.id).where(enterprises.c.code == enterprise)
        ).scalar()
        pid = None
        unit = "10^4 CNY"
        if product is not None:
            pid, unit = conn.execute(
                select(products.c.id, products.c.unit).where(
                    products.c.enterprise_id == eid, products.c.code == product
                )
            ).one()
        conn.execute(
            insert(production_entries).values(
                enterprise_id=eid,
                product_id=pid,
                kind="output" if product else "value_added",
                period="month",
                period_start=month,
                value=value,
                unit=unit,
                price_base_year=None if product else base_year,
                revision=revision,
                entered_by="clerk@example.org",
            )
        )
    engine.dispose()


NOV = date(2026, 11, 1)
NOV_LAST = date(2025, 11, 1)
NOV_STEPS = {
    ("M-100", "energy_import_kwh"): 1.0,
    ("G-1", "gas_volume_m3"): 0.5,
    ("DC-IN-1", "energy_import_kwh"): 2.0,
    ("B-1", "energy_import_kwh"): 1.0,
}


def november_figures(db: DatabaseSettings) -> None:
    """November 2026 and 2025 fed (2025 a quarter more energy); A's hot metal over its
    GB 21256-2025 limit this year (70 t: 429.5 kgce/t > 415), value added for both enterprises
    both years; B's cold storage has no output entered (insufficient data)."""
    provision(db)
    feed_month(db, NOV, NOV_STEPS)
    feed_month(db, NOV_LAST, {k: v * 1.25 for k, v in NOV_STEPS.items()})
    enter(db, ENT_A, NOV, 70.0, product="hot-metal")
    enter(db, ENT_A, NOV_LAST, 100.0, product="hot-metal")
    for month in (NOV, NOV_LAST):
        enter(db, ENT_A, month, 50.0)
        enter(db, ENT_B, month, 5.0)
