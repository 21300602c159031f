"""Simulated gateways -> Mosquitto -> ingest -> PostgreSQL: exactly the readings the seed gives."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings, MqttSettings
from simulators.gateways.faults import Faults, inject
from simulators.gateways.fleet import FleetConfig, build_fleet, messages
from tests.support.ingest import start_ingest
from tests.support.services import wait_for

SEED, STEPS, PER_MESSAGE = 7, 12, 10


def _simulate(mqtt: MqttSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ENERGYMON_MQTT_URL": mqtt.url,
        "ENERGYMON_MQTT_TOPIC_ROOT": mqtt.topic_root,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "simulate", "gateways", "--seed", str(SEED), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _stored(db: DatabaseSettings) -> set[tuple[str, str, str, str, float]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT e.code, m.code, p.quantity, r.ts, r.value FROM readings r "
            "JOIN points p ON p.id = r.point_id JOIN meters m ON m.id = p.meter_id "
            "JOIN enterprises e ON e.id = m.enterprise_id"
        ).fetchall()
    return {(e, m, q, ts.astimezone(UTC).isoformat(), v) for e, m, q, ts, v in rows}


def _count(db: DatabaseSettings, table: str) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize("faulty", [False, True], ids=["clean", "duplicates-late-malformed"])
def test_the_simulated_district_lands_exactly_in_the_database(
    db_settings: DatabaseSettings, mqtt_settings: MqttSettings, tmp_path: Path, faulty: bool
) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    registry = tmp_path / "district.yaml"
    result = _simulate(mqtt_settings, "--steps", "0", "--write-registry", str(registry))
    assert result.returncode == 0, result.stderr
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(registry.read_text()))
    engine.dispose()

    config = FleetConfig(seed=SEED)
    expected = {
        (m.enterprise, meter, point, ts.isoformat(), value)
        for m in messages(build_fleet(config), start, STEPS, PER_MESSAGE)
        for meter, point, ts, value in m.readings
    }
    fault_args = ["--duplicate-rate", "0.2", "--late-rate", "0.1", "--malformed-rate", "0.1"]
    faults = Faults(0.2, 0.1, 20, 0.1, SEED) if faulty else Faults()
    malformed = {
        (m.enterprise, m.gateway, m.payload)
        for m in inject(messages(build_fleet(config), start, STEPS, PER_MESSAGE), faults)
        if m.seq < 0
    }

    ingest = start_ingest(db_settings, mqtt_settings, tmp_path)
    try:
        ingest.wait_ready()
        result = _simulate(
            mqtt_settings,
            "--start",
            start.isoformat(),
            "--steps",
            str(STEPS),
            "--readings-per-message",
            str(PER_MESSAGE),
            *(fault_args if faulty else []),
        )
        assert result.returncode == 0, result.stderr
        wait_for(
            lambda: (
                _count(db_settings, "readings") >= len(expected)
                and _count(db_settings, "dead_letters") >= (1 if faulty else 0)
            ),
            60,
            "every simulated reading",
        )
        wait_for(
            lambda: ingest.metric("energymon_ingest_unacknowledged_messages") == 0,
            10,
            "ingest to settle",
        )
    finally:
        ingest.stop()
    # 6 enterprises x (2 electricity meters x 2 points + 1 steam meter) + 2 data centres x
    # 2 meters x 2 points = 38 points, every interval
    assert len(expected) == 38 * STEPS
    assert _stored(db_settings) == expected
    if faulty:
        assert malformed
        # one dead letter per distinct malformed message: a repeat of the same bytes is a
        # duplicate delivery
        assert _count(db_settings, "dead_letters") == len(malformed)
    else:
        assert _count(db_settings, "dead_letters") == 0
