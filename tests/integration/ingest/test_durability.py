"""Nothing acknowledged is lost, nothing is stored twice: crashes and database outages.
(Replicas sharing partitions: tests/fault/test_replicas.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import psycopg
import pytest

from services.core.settings import DatabaseSettings, MqttSettings
from tests.integration.conftest import ENT_A
from tests.support.broker import Broker
from tests.support.ingest import start_ingest
from tests.support.mqtt import Publisher
from tests.support.services import wait_for
from tests.support.tcpproxy import TcpProxy

METERS = [
    ("M-100", "energy_import_kwh"),
    ("M-100", "power_kw"),
    ("G-1", "gas_volume_m3"),
    ("DC-IN-1", "energy_import_kwh"),
    ("DC-IT-1", "energy_import_kwh"),
]


def _stream(n_messages: int, start: datetime) -> list[bytes]:
    """``n_messages`` messages of 5 readings each, every reading at a distinct (point, ts)."""
    out = []
    for i in range(n_messages):
        ts = (start + timedelta(seconds=i)).isoformat()
        out.append(
            orjson.dumps(
                {
                    "seq": i + 1,
                    "readings": [
                        {"meter": m, "point": p, "ts": ts, "value": float(i)} for m, p in METERS
                    ],
                }
            )
        )
    return out


def _count(db: DatabaseSettings) -> int:
    with psycopg.connect(db.libpq_url) as conn:
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]


def _assert_exact(db: DatabaseSettings, n_messages: int) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT p.quantity, count(*), count(DISTINCT r.ts), min(r.value), max(r.value), "
            "sum(r.value) FROM readings r JOIN points p ON p.id = r.point_id "
            "JOIN meters m ON m.id = p.meter_id GROUP BY m.code, p.quantity"
        ).fetchall()
    assert len(rows) == len(METERS)
    expected_sum = n_messages * (n_messages - 1) / 2
    for _q, n, distinct, lo, hi, total in rows:
        assert (n, distinct, lo, hi, total) == (
            n_messages,
            n_messages,
            0.0,
            n_messages - 1,
            expected_sum,
        )


def _publish_in_background(
    pub: Publisher, topic: str, messages: list[bytes], rate: float
) -> threading.Thread:
    def run() -> None:
        step = 50
        for i in range(0, len(messages), step):
            t0 = time.monotonic()
            pub.publish(topic, messages[i : i + step])
            time.sleep(max(0.0, step / rate - (time.monotonic() - t0)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[Broker]:
    """A private Mosquitto configured like every broker the project ships (no cap on the count
    of messages queued for an offline session): the machine's own broker keeps Mosquitto's
    default of 1,000, which a slow restart on a busy machine would overflow, dropping what the
    broker had acknowledged before ingest is back."""
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.close()


def test_kill_9_mid_stream_and_restart_stores_every_reading_exactly_once(
    small_district: DatabaseSettings, shipped_broker: Broker, tmp_path: Path
) -> None:
    mqtt_settings = MqttSettings(url=shipped_broker.url)
    publisher = Publisher(mqtt_settings, "kill9-pub")
    n = 3000
    messages = _stream(n, datetime.now(UTC) - timedelta(days=1))
    ingest = start_ingest(small_district, mqtt_settings, tmp_path)
    ingest.wait_ready()
    sender = _publish_in_background(
        publisher, publisher.readings_topic(ENT_A, "gw-01"), messages, rate=600
    )
    wait_for(lambda: _count(small_district) >= 2000, 60, "a part of the stream to be stored")
    ingest.kill9()
    stored_at_kill = _count(small_district)
    ingest = start_ingest(small_district, mqtt_settings, tmp_path)  # same client id and session
    try:
        ingest.wait_ready()
        sender.join(60)
        wait_for(lambda: _count(small_district) >= n * len(METERS), 180, "every reading")
        time.sleep(0.5)  # nothing more may arrive: a late duplicate would break the exact check
        assert stored_at_kill < n * len(METERS)
        _assert_exact(small_district, n)
    finally:
        ingest.stop()
        publisher.close()


def test_database_outage_longer_than_the_broker_queue_loses_nothing(
    small_district: DatabaseSettings,
    mqtt_settings: MqttSettings,
    publisher: Publisher,
    tmp_path: Path,
) -> None:
    target = urlsplit(small_district.libpq_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    via_proxy = DatabaseSettings(
        url=target._replace(netloc=f"{target.username}@127.0.0.1:{proxy.port}").geturl(),
        timescale="off",
        connect_timeout_s=1,
    )
    n = 2500  # well over Mosquitto's default max_queued_messages of 1000
    messages = _stream(n, datetime.now(UTC) - timedelta(days=2))
    topic = publisher.readings_topic(ENT_A, "gw-01")
    ingest = start_ingest(
        via_proxy, mqtt_settings, tmp_path, extra_env={"ENERGYMON_INGEST_DB_RETRY_MAX_S": "1"}
    )
    try:
        ingest.wait_ready()
        publisher.publish(topic, messages[:200])
        wait_for(lambda: _count(small_district) >= 200 * len(METERS), 30, "the first messages")
        proxy.cut()
        publisher.publish(topic, messages[200:])
        wait_for(lambda: ingest.status("/readyz") == 503, 30, "ingest to report not-ready")
        # Every message of the outage reaches ingest (the broker's queue never fills because
        # ingest acknowledges once a message is fsynced to its spool).
        wait_for(
            lambda: ingest.metric("energymon_ingest_spooled_messages_total") >= n - 200,
            60,
            "the outage's messages to be spooled",
        )
        assert ingest.metric("energymon_ingest_spool_segments") >= 1
        assert _count(small_district) < n * len(METERS)
        proxy.restore()
        wait_for(lambda: _count(small_district) >= n * len(METERS), 90, "the spool to drain")
        wait_for(
            lambda: ingest.metric("energymon_ingest_spool_segments") == 0, 30, "an empty spool"
        )
        assert ingest.status("/readyz") == 200
        _assert_exact(small_district, n)
        assert ingest.metric("energymon_ingest_database_errors_total") >= 1
    finally:
        ingest.stop()
        proxy.close()
