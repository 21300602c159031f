from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from prometheus_client import CollectorRegistry

from services.alerts.evaluator import AlertsMetrics, Evaluator, Family, connectivity_family
from services.alerts.notify import Router
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import AlertsSettings, DatabaseSettings


@pytest.fixture
def evaluator(small_district: DatabaseSettings) -> Iterator[Evaluator]:
    settings = AlertsSettings(hold_s=600, silent_intervals=3)
    engine = make_engine(small_district)
    yield Evaluator(
        engine,
        settings,
        [connectivity_family(settings)],
        Router(settings.routes, ["webhook"]),
        AlertsMetrics(CollectorRegistry()),
    )
    engine.dispose()


def write_reading(
    db: DatabaseSettings, meter: str, quantity: str, ts: datetime, value: float
) -> None:
    import psycopg

    with psycopg.connect(db.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = %s AND p.quantity = %s",
            (meter, quantity),
        ).fetchone()[0]  # type: ignore[index]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=[(pid, ts, value, ts, 1)]))
    writer.close()


def evaluate_once(
    db: DatabaseSettings, settings: AlertsSettings, family: Family, now: datetime
) -> None:
    """One evaluation of ``family`` at ``now``, notifications routed nowhere."""
    engine = make_engine(db)
    Evaluator(
        engine, settings, [family], Router(settings.routes, []), AlertsMetrics(CollectorRegistry())
    ).evaluate_all(now=now)
    engine.dispose()
