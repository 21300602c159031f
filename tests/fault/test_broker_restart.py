"""A broker restart mid-stream — SIGTERM (persistence saved) or SIGKILL (everything since the last
autosave gone) — loses no reading the broker acknowledged to a gateway that follows the contract
(docs/mqtt.md): it re-sends what the broker refused (0x10 "no matching subscribers" before ingest
is subscribed again) and answers ingest's re-send requests for sequence gaps from its history."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from services.core.settings import DatabaseSettings, MqttSettings
from simulators.gateways.publisher import GatewayClient
from tests.integration.conftest import ENT_A
from tests.support.broker import Broker
from tests.support.ingest import start_ingest
from tests.support.services import wait_for
from tests.support.stream import numbered_messages

METERS = [
    ("M-100", "energy_import_kwh"),
    ("G-1", "gas_volume_m3"),
    ("DC-IN-1", "energy_import_kwh"),
    ("DC-IT-1", "energy_import_kwh"),
    ("M-100", "power_kw"),
]
FAST_RESEND = {
    "ENERGYMON_INGEST_RESEND_AFTER_S": "2",
    "ENERGYMON_INGEST_RESEND_EVERY_S": "3",
    "ENERGYMON_INGEST_LEASE_ROUND_S": "1",
}


def _stored_seqs(db: DatabaseSettings) -> dict[float, int]:
    """Readings stored per message (the value is the message's seq)."""
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute("SELECT value, count(*) FROM readings GROUP BY value").fetchall()
    return {float(v): int(n) for v, n in rows}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.close()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_broker_restart_loses_no_acknowledged_reading(
    how: signal.Signals, broker: Broker, small_district: DatabaseSettings, tmp_path: Path
) -> None:
    """Thirds of a stream: the first while ingest runs; the second while ingest is stopped (the
    broker acknowledges and queues it for ingest's session); then the broker restarts; the last
    third goes out before ingest is back. SIGTERM: the broker saved the session with its
    subscriptions and queue, so nothing is even refused. SIGKILL: the second third is gone with
    the broker's memory; ingest sees the gap in ``seq`` and asks the gateway to re-send it."""
    mqtt = MqttSettings(url=broker.url)
    n = 900
    messages = numbered_messages(n, METERS, datetime.now(UTC) - timedelta(days=1))
    gateway = GatewayClient(mqtt, ENT_A, "gw-01")

    def publish(part: list[bytes]) -> None:
        for payload in part:
            gateway.publish(payload).wait_for_publish(10)

    ingest = start_ingest(small_district, mqtt, tmp_path, extra_env=FAST_RESEND)
    try:
        ingest.wait_ready()
        gateway.connect()
        publish(messages[: n // 3])
        wait_for(lambda: len(_stored_seqs(small_district)) == n // 3, 30, "the first third")
        ingest.stop()
        publish(messages[n // 3 : 2 * n // 3])  # acknowledged by the broker, queued for ingest
        broker.restart(how)
        wait_for(gateway.client.is_connected, 30, "the gateway to reconnect")
        for payload in messages[2 * n // 3 :]:
            gateway.publish(payload)
        ingest = start_ingest(small_district, mqtt, tmp_path, extra_env=FAST_RESEND)
        ingest.wait_ready()

        def complete() -> bool:
            gateway.flush_retries()  # refused messages and re-send requests, as they fall due
            return len(_stored_seqs(small_district)) == n

        wait_for(complete, 90, "every message of the stream", interval=0.5)
        stored = _stored_seqs(small_district)
        acknowledged = {float(s) for s in gateway.acknowledged}
        assert acknowledged <= set(stored)  # every reading the broker acknowledged is stored
        assert len(acknowledged) == n
        assert set(stored.values()) == {len(METERS)}  # ... exactly once
        if how is signal.SIGTERM:
            # the partition's subscriptions came back with the broker: nothing was refused
            assert (gateway.refused, gateway.resent) == (0, 0)
        else:
            assert gateway.resent >= n // 3  # the lost third, recovered by re-send requests
            assert ingest.metric("energymon_ingest_resend_requests_total") >= 1
        print(
            f"{how.name}: {n} messages, refused by the broker and sent again {gateway.refused}, "
            f"re-sent on request {gateway.resent}, re-send requests "
            f"{ingest.metric('energymon_ingest_resend_requests_total'):.0f}"
        )
    finally:
        gateway.client.loop_stop()
        ingest.stop()
