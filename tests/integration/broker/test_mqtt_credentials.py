"""Generated credentials loaded by a real Mosquitto: each gateway publishes only as itself."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from services.core.settings import DatabaseSettings, MqttSettings
from tests.integration.conftest import ENT_A
from tests.support.ingest import start_ingest
from tests.support.services import Private, start_mosquitto, wait_for


@pytest.fixture
def secured_broker(
    small_district: DatabaseSettings, tmp_path: Path
) -> Iterator[tuple[int, dict[str, str]]]:
    out = tmp_path / "mqtt"
    env = {
        **os.environ,
        "ENERGYMON_DATABASE_URL": small_district.url,
        "ENERGYMON_MQTT_TOPIC_ROOT": "energymon",
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "mqtt", "credentials", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 gateways, 4 new accounts" in result.stdout
    assert oct((out / "passwd").stat().st_mode & 0o777) == "0o600"
    for f in ("passwd", "acl"):
        os.chmod(out / f, 0o644)  # the broker may run as another user
    creds = {r["username"]: r["password"] for r in csv.DictReader((out / "credentials.csv").open())}
    private = Private()
    port = start_mosquitto(
        private, f"allow_anonymous false\npassword_file {out}/passwd\nacl_file {out}/acl\n"
    )
    yield port, creds
    private.close()


def _client(port: int, user: str | None, password: str | None) -> tuple[mqtt.Client, int]:
    rc: list[int] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"c-{user}", protocol=mqtt.MQTTv5)
    if user is not None:
        c.username_pw_set(user, password)

    def on_connect(_c: object, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
        rc.append(reason.value)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(10)
    return c, rc[0] if rc else -1


def test_gateways_publish_only_as_themselves_and_anonymous_clients_are_refused(
    secured_broker: tuple[int, dict[str, str]], small_district: DatabaseSettings, tmp_path: Path
) -> None:
    port, creds = secured_broker
    _, anon_rc = _client(port, None, None)
    assert anon_rc != 0  # refused: not authorised
    ingest_user = "energymon-ingest"
    mqtt_settings = MqttSettings(
        url=f"mqtt://{ingest_user}:{creds[ingest_user]}@127.0.0.1:{port}", topic_root="energymon"
    )
    ingest = start_ingest(small_district, mqtt_settings, tmp_path)
    try:
        ingest.wait_ready()
        gw1 = f"{ENT_A}.gw-01"
        client, rc = _client(port, gw1, creds[gw1])
        assert rc == 0
        ts = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

        def payload(value: float) -> str:
            return json.dumps(
                {"readings": [{"meter": "G-1", "point": "gas_volume_m3", "ts": ts, "value": value}]}
            )

        spoof = client.publish(mqtt_settings.readings_topic(ENT_A, "gw-02"), payload(2.0), qos=1)
        own = client.publish(mqtt_settings.readings_topic(ENT_A, "gw-01"), payload(1.0), qos=1)
        own.wait_for_publish(10)
        spoof.wait_for_publish(10)
        wait_for(
            lambda: ingest.metric("energymon_ingest_readings_written_total") >= 1,
            20,
            "the gateway's own reading",
        )
        # Mosquitto grants the SUBACK but enforces read access on delivery: a gateway receives
        # nothing, not even its own topic, while ingest does.
        received: list[bytes] = []
        client.on_message = lambda _c, _u, m: received.append(m.payload)
        subacks: list[object] = []
        client.on_subscribe = lambda *a: subacks.append(a)
        client.subscribe(f"{mqtt_settings.topic_root}/#", qos=1)
        wait_for(lambda: bool(subacks), 10, "the SUBACK")
        ts = (datetime.now(UTC) - timedelta(minutes=4)).isoformat()
        client.publish(
            mqtt_settings.readings_topic(ENT_A, "gw-01"), payload(3.0), qos=1
        ).wait_for_publish(10)
        wait_for(
            lambda: ingest.metric("energymon_ingest_readings_written_total") >= 2,
            20,
            "the second reading",
        )
        assert received == []
        client.disconnect()
        with psycopg.connect(small_district.libpq_url) as conn:
            values = [r[0] for r in conn.execute("SELECT value FROM readings").fetchall()]
        assert sorted(values) == [1.0, 3.0]
        assert ingest.metric("energymon_ingest_messages_received_total") == 2
    finally:
        ingest.stop()
