"""Two `energymon ingest modbus` processes share the devices; kill -9 one and the other takes its
devices over within the lease time; no device is polled twice for one slot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg

from services.core.db import make_engine
from services.core.devices.loader import shipped_maps
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from simulators.meters.device import SimulatedMeter
from simulators.meters.server import MeterServer, running
from tests.support.services import free_port, wait_for

ENT = "91120111MA07N9RT25"
UNITS = range(1, 9)


def _district(port: int) -> str:
    meters = "\n".join(
        f"          - {{code: MB-{u}, carrier: electricity, protocol: modbus, interval_s: 1, "
        f"connection: {{port: {port}, unit_id: {u}, map: eastron-sdm630, interval_s: 1, "
        f"timeout_s: 0.5}}, points: [energy_import_kwh]}}"
        for u in UNITS
    )
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Dasi Textiles\n    industry: C17\n"
        f"    town: Dasi\n    sites:\n      - code: mill\n        meters:\n{meters}\n"
    )


def _poller(db: DatabaseSettings, name: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "ENERGYMON_DATABASE_URL": db.url,
        "ENERGYMON_MODBUS_OWNER": name,
        "ENERGYMON_MODBUS_LEASE_TTL_S": "3",
        "ENERGYMON_MODBUS_ROUND_S": "0.5",
        "ENERGYMON_MODBUS_METRICS_PORT": str(port),
        "ENERGYMON_MODBUS_SPOOL_DIR": str(tmp / f"spool-{name}"),
    }
    log = (tmp / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "ingest", "modbus"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return proc, port


def _leases(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("energymon_ingest_modbus_leases "):
                    return float(line.split()[1])
    except OSError:
        return -1
    return -1


def _owners(db: DatabaseSettings) -> dict[str, int]:
    with psycopg.connect(db.libpq_url) as conn:
        return dict(
            conn.execute(
                "SELECT owner, count(*) FROM device_leases WHERE expires_at > now() GROUP BY owner"
            ).fetchall()
        )


def test_two_pollers_split_the_devices_and_one_takes_over_when_the_other_dies(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meters = [SimulatedMeter(u, shipped_maps()["eastron-sdm630"], 20.0, seed=u) for u in UNITS]
    with running(MeterServer(meters, update_s=1)) as server:
        engine = make_engine(db_settings)
        with engine.begin() as conn:
            apply_district(conn, parse_district(_district(server.port)))
        engine.dispose()
        a, a_port = _poller(db_settings, "poller-a", tmp_path)
        b, b_port = _poller(db_settings, "poller-b", tmp_path)
        try:
            wait_for(lambda: _leases(a_port) == 4 and _leases(b_port) == 4, 30, "an even split")
            assert _owners(db_settings) == {"poller-a": 4, "poller-b": 4}
            a.send_signal(signal.SIGKILL)
            a.wait(10)
            wait_for(lambda: _leases(b_port) == 8, 10, "poller-b to take all eight")
            wait_for(lambda: _owners(db_settings) == {"poller-b": 8}, 10, "the lease table")
            with psycopg.connect(db_settings.libpq_url) as conn:
                # every reading is at the time its poll's answer arrived: two pollers reading the
                # same device in the same second would leave two rows within the second
                doubled = conn.execute(
                    "SELECT count(*) FROM (SELECT point_id, date_trunc('second', ts) "
                    "FROM readings GROUP BY 1, 2 HAVING count(*) > 1) d"
                ).fetchone()
            assert doubled == (0,)
        finally:
            for p in (a, b):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    p.wait(20)
