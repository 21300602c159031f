"""`energymon accounting run` as real processes, with no alerts service anywhere: new readings
show in the API's consumption answers within one accounting interval; of two processes one is
active, and when it is killed the standby takes over and the figures keep following the readings;
/readyz and /metrics say which process is active."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.security import Role, configure_hasher
from services.api.users import create_user
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import ApiSettings, CommonSettings, DatabaseSettings, IngestSettings
from tests.integration.conftest import ENT_A
from tests.support.api import serve, token
from tests.support.feed import point_id
from tests.support.ingest import IngestProcess, start_service
from tests.support.services import free_port, wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 17, tzinfo=SHANGHAI)
INTERVAL_S = 2.0
PASS_ALLOWANCE_S = 3.0  # a pass itself and a machine busy with other test runs
PASSWORD = "accounting test password"
M100_MULTIPLIER = 80.0  # tests/fixtures/district_small.yaml: a boundary electricity meter


@dataclass
class Api:
    client: httpx.Client
    headers: dict[str, str]

    def consumption(self, meter_day: datetime = DAY) -> list[dict[str, Any]]:
        resp = self.client.get(
            f"/api/v1/enterprises/{ENT_A}/consumption",
            params={
                "from": meter_day.isoformat(),
                "to": (meter_day + timedelta(days=1)).isoformat(),
                "interval": "1d",
            },
            headers=self.headers,
        )
        assert resp.status_code == 200, resp.text
        rows: list[dict[str, Any]] = resp.json()
        return rows


@pytest.fixture
def api(small_district: DatabaseSettings) -> Iterator[Api]:
    settings = ApiSettings(
        argon2_time_cost=1,
        argon2_memory_kib=64,
        jwt_keys="k1:signing-key-of-the-accounting-service-tests",
    )
    configure_hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
    engine = make_engine(small_district)
    with engine.begin() as conn:
        create_user(conn, username="officer", password=PASSWORD, role=Role.OFFICER)
    engine.dispose()
    app = create_app(ApiConfig(CommonSettings(), small_district, settings, IngestSettings()))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        bearer = {"Authorization": f"Bearer {token(client, 'officer', PASSWORD)}"}
        yield Api(client, bearer)


def _start(db: DatabaseSettings, tmp_path: Path, name: str) -> IngestProcess:
    port = free_port()
    env = {
        "ENERGYMON_DATABASE_URL": db.url,
        "ENERGYMON_DATABASE_TIMESCALE": "off",
        "ENERGYMON_ACCOUNTING_INTERVAL_S": str(INTERVAL_S),
        "ENERGYMON_ACCOUNTING_METRICS_PORT": str(port),
        "ENERGYMON_LOG_FORMAT": "json",
    }
    return start_service(["accounting", "run"], env, tmp_path, name, port)


def _readyz(proc: IngestProcess) -> str:
    try:
        with httpx.Client(timeout=2) as client:
            resp = client.get(proc.url("/readyz"))
    except httpx.HTTPError:
        return ""
    return f"{resp.status_code} {resp.text.strip()}"


def _write(db: DatabaseSettings, meter: str, first: datetime, values: list[float]) -> None:
    """Quarter-hourly counter readings of ``meter`` through the one write path."""
    pid = point_id(db, meter)
    rows = [(pid, first + timedelta(minutes=15 * i), v, first, 1) for i, v in enumerate(values)]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()


def _electricity_kwh(rows: list[dict[str, Any]]) -> float:
    return sum(r["amount"] for r in rows if r["carrier"] == "electricity")


def _within_one_interval(api: Api, expected_kwh: float, what: str) -> float:
    """Seconds until the API answers ``expected_kwh``; fails beyond one interval (plus the
    pass itself)."""
    started = time.monotonic()
    wait_for(
        lambda: _electricity_kwh(api.consumption()) == pytest.approx(expected_kwh),
        INTERVAL_S + PASS_ALLOWANCE_S,
        what,
    )
    seconds = time.monotonic() - started
    print(f"{what}: {seconds:.2f} s (interval {INTERVAL_S:g} s)")
    return seconds


def test_new_readings_reach_the_consumption_answers_within_one_interval_without_alerts(
    small_district: DatabaseSettings, api: Api, tmp_path: Path
) -> None:
    proc = _start(small_district, tmp_path, "accounting")
    try:
        proc.wait_ready()
        wait_for(lambda: proc.metric("energymon_accounting_leader") == 1.0, 10, "it to lead")
        assert api.consumption() == []
        # M-100's counter rises by 2 per quarter hour for two hours
        _write(small_district, "M-100", DAY, [100.0 + 2 * i for i in range(9)])
        _within_one_interval(api, 16.0 * M100_MULTIPLIER, "the first readings in the answer")
        # more readings of the same day, in the evening: the answer follows them too
        _write(small_district, "M-100", DAY + timedelta(hours=20), [120.0, 121.0])
        _within_one_interval(api, 21.0 * M100_MULTIPLIER, "the evening's readings")
        assert proc.metric("energymon_accounting_ranges_total") >= 2
        assert proc.metric("energymon_accounting_last_pass_timestamp_seconds") > 0
        assert proc.metric("energymon_accounting_pass_seconds_count") >= 1
        wait_for(
            lambda: proc.metric("energymon_accounting_rollup_lag_seconds") == 0.0,
            INTERVAL_S + PASS_ALLOWANCE_S,
            "no lag once caught up",
        )
        assert '"event": "rollup pass"' in proc.log()
    finally:
        assert proc.stop() == 0, proc.log()


def test_the_standby_takes_over_when_the_active_process_is_killed(
    small_district: DatabaseSettings, api: Api, tmp_path: Path
) -> None:
    a = _start(small_district, tmp_path, "accounting-a")
    b: IngestProcess | None = None
    try:
        a.wait_ready()
        wait_for(lambda: _readyz(a) == "200 ready: active", 10, "the first process to lead")
        b = _start(small_district, tmp_path, "accounting-b")
        b.wait_ready()
        wait_for(lambda: _readyz(b) == "200 ready: standby", 10, "the second to stand by")
        assert a.metric("energymon_accounting_leader") == 1.0
        assert b.metric("energymon_accounting_leader") == 0.0
        _write(small_district, "M-100", DAY, [100.0, 101.0, 102.0])
        _within_one_interval(api, 2.0 * M100_MULTIPLIER, "the active process rolling up")
        assert b.metric("energymon_accounting_ranges_total") == 0.0  # the standby did nothing

        a.kill9()
        wait_for(
            lambda: _readyz(b) == "200 ready: active", INTERVAL_S + PASS_ALLOWANCE_S, "take-over"
        )
        assert b.metric("energymon_accounting_leader") == 1.0
        _write(small_district, "M-100", DAY + timedelta(minutes=45), [103.0, 104.0])
        _within_one_interval(api, 4.0 * M100_MULTIPLIER, "the new active process rolling up")
        assert b.metric("energymon_accounting_ranges_total") >= 1
    finally:
        for p in (a, b):
            if p is not None:
                p.stop()
