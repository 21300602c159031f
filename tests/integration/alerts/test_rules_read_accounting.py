"""The alerts service computes no figures: running alone it leaves new readings to the accounting
service; once that runs, the PUE rules see what it wrote and open their alerts."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.accounting.main import run as run_accounting
from services.alerts.main import run as run_alerts
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import (
    AccountingSettings,
    AlertsSettings,
    CommonSettings,
    DatabaseSettings,
)
from tests.support.services import free_port, wait_for

INTERVAL_S = 1.0


class Service:
    """A service's ``run()`` in a thread, stopped at the end of the test."""

    def __init__(self, target: Callable[..., int], *args: object) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=target, args=(*args, self.stop), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in reversed(started):
        service.close()


def _feed_data_centre(db: DatabaseSettings, end: datetime) -> None:
    """30 hours of dc-1 (new large, limit 1.25) at PUE 1.3, up to ``end``."""
    with psycopg.connect(db.libpq_url) as conn:
        ids = dict(
            conn.execute(
                "SELECT m.code, p.id FROM points p JOIN meters m ON m.id = p.meter_id "
                "WHERE m.code IN ('DC-IN-1', 'DC-IT-1')"
            )
        )
    start = end - timedelta(hours=30)
    rows = []
    for i in range(121):
        ts = start + timedelta(minutes=15 * i)
        rows.append((ids["DC-IT-1"], ts, 1000 + 10.0 * i, ts, 1))
        rows.append((ids["DC-IN-1"], ts, 1000 + 13.0 * i, ts, 1))
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()


def _count(db: DatabaseSettings, sql: str) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _evaluated_at(port: int, family: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:  # not listening yet
        return 0
    head = f'energymon_alerts_last_evaluation_timestamp_seconds{{family="{family}"}} '
    return next(
        (float(line[len(head) :]) for line in text.splitlines() if line.startswith(head)), 0
    )


def test_the_rules_read_the_figures_the_accounting_service_writes(
    small_district: DatabaseSettings, services: list[Service]
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _feed_data_centre(small_district, now - timedelta(minutes=now.minute % 15))
    written = time.time()
    alerts_port = free_port()
    alerts = AlertsSettings(interval_s=INTERVAL_S, hold_s=0, metrics_port=alerts_port)
    services.append(Service(run_alerts, CommonSettings(), small_district, alerts))
    # two PUE evaluations after the readings were stored: the alerts service rolled nothing up
    wait_for(lambda: _evaluated_at(alerts_port, "pue") > written + INTERVAL_S, 20, "evaluations")
    assert _count(small_district, "SELECT count(*) FROM rollup_dirty") > 0
    assert _count(small_district, "SELECT count(*) FROM consumption_15m") == 0
    over = "SELECT count(*) FROM alerts WHERE rule = 'pue_over_limit' AND state = 'open'"
    assert _count(small_district, over) == 0

    accounting = AccountingSettings(interval_s=INTERVAL_S, metrics_port=free_port())
    services.append(Service(run_accounting, CommonSettings(), small_district, accounting))
    wait_for(lambda: _count(small_district, over) >= 1, 20, "the PUE alerts from its figures")
    assert _count(small_district, "SELECT count(*) FROM rollup_dirty") == 0
