"""Counter readings for a registered point, through the one write path, then rolled up."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings


def point_id(db: DatabaseSettings, meter: str, quantity: str = "energy_import_kwh") -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = %s AND p.quantity = %s",
            (meter, quantity),
        ).fetchone()
    assert row is not None, f"no point {meter}/{quantity}"
    return int(row[0])


def feed_counter(
    db: DatabaseSettings, meter: str, first: datetime, count: int, start: float, step: float
) -> None:
    """``count`` quarter-hourly readings of ``meter``'s energy counter from ``first``, rising by
    ``step`` each (times the meter's multiplier in the rollups), then the rollups brought up to
    date."""
    pid = point_id(db, meter)
    rows = [
        (pid, first + timedelta(minutes=15 * i), start + step * i, first, 1) for i in range(count)
    ]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    engine.dispose()
