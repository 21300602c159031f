"""Ingest replicas share MQTT partitions by lease. A replica killed mid-stream: the survivor takes
its partitions over (and the messages its sessions hold) within the lease time, nothing is lost or
stored twice, and the alerts say what happened. A replica stopped cleanly hands over at once. With
no replica left, the partition shows as unowned, and nothing is lost when one comes back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from prometheus_client import CollectorRegistry

from services.alerts.evaluator import AlertsMetrics, Evaluator, ingest_family
from services.alerts.notify import Router
from services.core.db import make_engine
from services.core.settings import AlertsSettings, DatabaseSettings, MqttSettings
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.ingest import IngestProcess, start_ingest
from tests.support.mqtt import Publisher
from tests.support.services import wait_for
from tests.support.stream import numbered_messages

# Four partitions: enterprise A hashes to partition 1, B to partition 3; with two replicas the
# first keeps partitions 0-1 and the second takes 2-3, so each replica has one enterprise.
REPLICA_ENV = {
    "ENERGYMON_INGEST_PARTITIONS": "4",
    "ENERGYMON_INGEST_LEASE_TTL_S": "4",
    "ENERGYMON_INGEST_LEASE_ROUND_S": "0.5",
}
START = datetime.now(UTC) - timedelta(days=1)
STREAMS = {
    (ENT_A, "gw-01"): [("M-100", "energy_import_kwh"), ("G-1", "gas_volume_m3")],
    (ENT_B, "gw-01"): [("B-1", "energy_import_kwh")],
}


def _counts(db: DatabaseSettings) -> tuple[int, int]:
    """(readings stored, distinct (point, ts)) - equal when nothing is stored twice."""
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (point_id, ts)) FROM readings"
        ).fetchone()
        assert row is not None
    return int(row[0]), int(row[1])


def _expected(n: int) -> int:
    return n * sum(len(m) for m in STREAMS.values())


def _stream(publisher: Publisher, n: int, rate: float) -> threading.Thread:
    def run() -> None:
        batches = {key: numbered_messages(n, meters, START) for key, meters in STREAMS.items()}
        step = 20
        for i in range(0, n, step):
            for (ent, gw), msgs in batches.items():
                publisher.publish(publisher.readings_topic(ent, gw), msgs[i : i + step])
            time.sleep(step / rate)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _alerts(db: DatabaseSettings) -> dict[str, list[str]]:
    settings = AlertsSettings(hold_s=0, ingest_replica_stale_s=5, ingest_unowned_s=5)
    engine = make_engine(db)
    evaluator = Evaluator(
        engine,
        settings,
        [ingest_family(settings)],
        Router(settings.routes, []),
        AlertsMetrics(CollectorRegistry()),
    )
    evaluator.evaluate_all()
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT rule, subject FROM alerts WHERE state <> 'resolved' ORDER BY id"
        ).all()
    engine.dispose()
    out: dict[str, list[str]] = {}
    for rule, subject in rows:
        out.setdefault(rule, []).append(subject)
    return out


@pytest.fixture
def replicas(
    small_district: DatabaseSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> Iterator[list[IngestProcess]]:
    procs: list[IngestProcess] = []

    def start(name: str) -> IngestProcess:
        proc = start_ingest(
            small_district, mqtt_settings, tmp_path, client_id=name, extra_env=REPLICA_ENV
        )
        procs.append(proc)
        return proc

    first = start("ingest-1")
    first.wait_ready()
    wait_for(lambda: first.metric("energymon_ingest_partitions_held") == 4, 20, "4 partitions")
    second = start("ingest-2")
    second.wait_ready()
    wait_for(
        lambda: (first.metric("energymon_ingest_partitions_held"),
                 second.metric("energymon_ingest_partitions_held")) == (2, 2),
        20,
        "two partitions each",
    )  # fmt: skip
    yield [first, second]
    for p in procs:
        p.stop()


@pytest.mark.timeout(120)
def test_a_killed_replicas_partitions_are_taken_over_without_loss(
    replicas: list[IngestProcess], publisher: Publisher, small_district: DatabaseSettings
) -> None:
    first, second = replicas
    n = 1500
    sender = _stream(publisher, n, rate=300)
    wait_for(lambda: _counts(small_district)[0] >= _expected(n) // 4, 30, "a part stored")
    assert first.metric("energymon_ingest_readings_written_total") > 0
    assert second.metric("energymon_ingest_readings_written_total") > 0
    first.kill9()
    killed_at = time.monotonic()
    wait_for(lambda: second.metric("energymon_ingest_partitions_held") == 4, 30, "the take-over")
    takeover_s = time.monotonic() - killed_at
    sender.join(60)
    wait_for(lambda: _counts(small_district)[0] >= _expected(n), 60, "every reading")
    time.sleep(1)  # a late duplicate would show now
    assert _counts(small_district) == (_expected(n), _expected(n))
    assert second.metric("energymon_ingest_partition_takeovers_total") == 2
    assert takeover_s < 4 + 2 + 2  # lease + rounds + a busy machine's slack
    alerts = _alerts(small_district)
    assert alerts.get("ingest_replica_lost") == ["ingest-1"]
    assert "ingest_partition_unowned" not in alerts
    print(f"take-over after {takeover_s:.1f} s")


@pytest.mark.timeout(120)
def test_a_replica_stopped_cleanly_hands_over_at_once(
    replicas: list[IngestProcess], publisher: Publisher, small_district: DatabaseSettings
) -> None:
    first, second = replicas
    n = 900
    sender = _stream(publisher, n, rate=300)
    wait_for(lambda: _counts(small_district)[0] >= _expected(n) // 4, 30, "a part stored")
    stopping = time.monotonic()
    assert first.stop() == 0
    wait_for(lambda: second.metric("energymon_ingest_partitions_held") == 4, 10, "the hand-over")
    handover_s = time.monotonic() - stopping
    sender.join(60)
    wait_for(lambda: _counts(small_district)[0] >= _expected(n), 60, "every reading")
    time.sleep(1)
    assert _counts(small_district) == (_expected(n), _expected(n))
    assert second.metric("energymon_ingest_partition_takeovers_total") == 0  # released, not lost
    assert handover_s < 4  # well inside the lease time
    assert _alerts(small_district) == {}
    print(f"hand-over after {handover_s:.1f} s")


@pytest.mark.timeout(120)
def test_with_no_replica_left_the_partition_is_reported_and_nothing_is_lost(
    small_district: DatabaseSettings,
    mqtt_settings: MqttSettings,
    publisher: Publisher,
    tmp_path: Path,
) -> None:
    env = {**REPLICA_ENV, "ENERGYMON_INGEST_PARTITIONS": "1"}
    ingest = start_ingest(small_district, mqtt_settings, tmp_path, extra_env=env)
    ingest.wait_ready()
    ingest.kill9()
    n = 300
    topic = publisher.readings_topic(ENT_A, "gw-01")
    publisher.publish(
        topic, numbered_messages(n, STREAMS[(ENT_A, "gw-01")], START)
    )  # queued for the session
    wait_for(lambda: "ingest_partition_unowned" in _alerts(small_district), 30, "the unowned alert")
    ingest = start_ingest(small_district, mqtt_settings, tmp_path, extra_env=env)
    try:
        ingest.wait_ready()
        expected = n * len(STREAMS[(ENT_A, "gw-01")])
        wait_for(lambda: _counts(small_district)[0] >= expected, 30, "the queued readings")
        assert _counts(small_district) == (expected, expected)
        wait_for(lambda: "ingest_partition_unowned" not in _alerts(small_district), 10, "clear")
    finally:
        ingest.stop()
