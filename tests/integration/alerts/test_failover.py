"""Two `energymon alerts run` processes: exactly one evaluates; kill it and the other takes over
within an interval, without duplicating any alert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg

from services.core.settings import DatabaseSettings
from tests.support.services import free_port, wait_for


def _start(db: DatabaseSettings, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "ENERGYMON_DATABASE_URL": db.url,
        "ENERGYMON_ALERTS_INTERVAL_S": "1",
        "ENERGYMON_ALERTS_METRICS_PORT": str(port),
        "ENERGYMON_ALERTS_HOLD_S": "600",
    }
    fh = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "alerts", "run"],
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    fh.close()
    return proc, port


def _leader(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("energymon_alerts_leader "):
            return float(line.split()[1])
    return None


def _alerts(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT rule, subject, state FROM alerts WHERE rule = 'gateway_offline' ORDER BY id"
        ).fetchall()


def test_the_standby_takes_over_when_the_active_evaluator_dies(
    small_district: DatabaseSettings, tmp_path: Path
) -> None:
    with psycopg.connect(small_district.libpq_url) as conn:
        conn.execute(
            "UPDATE gateways SET status = 'offline', status_at = now() WHERE code = 'gw-02'"
        )
    a, a_port = _start(small_district, tmp_path / "a.log")
    b, b_port = None, 0
    try:
        wait_for(lambda: _leader(a_port) == 1.0, 20, "the first process to lead")
        b, b_port = _start(small_district, tmp_path / "b.log")
        wait_for(lambda: _leader(b_port) == 0.0, 20, "the second to stand by")
        wait_for(lambda: len(_alerts(small_district)) >= 1, 20, "the alert")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        # within one interval (1 s here) on a quiet machine; the deadline leaves room for a busy one
        wait_for(lambda: _leader(b_port) == 1.0, 20, "the standby to take over")
        with psycopg.connect(small_district.libpq_url) as conn:
            conn.execute(
                "UPDATE gateways SET status = 'offline', status_at = now() WHERE code = 'gw-01'"
            )
        wait_for(lambda: len(_alerts(small_district)) >= 3, 10, "the new leader evaluating")
        assert sorted(_alerts(small_district)) == [  # gw-01 exists in both enterprises
            ("gateway_offline", "91120111MA05K8XX3E/gw-01", "open"),
            ("gateway_offline", "91120111MA05K8XX3E/gw-02", "open"),
            ("gateway_offline", "91120111MA06L2QW8F/gw-01", "open"),
        ]
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(15)
