"""Generated credentials loaded by a real Mosquitto running the shipped configuration
(deploy/mosquitto/mosquitto.conf, with its TLS listener): each gateway publishes only as itself."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from services.core.embedded import free_port, port_open
from services.core.settings import DatabaseSettings, MqttSettings
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli
from tests.support.ingest import start_ingest
from tests.support.services import Private, start_mosquitto, wait_for

SHIPPED_CONF = Path(__file__).parents[3] / "deploy" / "mosquitto" / "mosquitto.conf"


def _make_certs(d: Path) -> None:
    """A private CA and a server certificate for 127.0.0.1, as docs/deploy.md shows."""
    d.mkdir()

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=energymon CA",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip


def shipped_conf(auth: Path, certs: Path, data: Path, tls_port: int) -> str:
    """deploy/mosquitto/mosquitto.conf with its container paths and ports made local."""
    text = SHIPPED_CONF.read_text()
    assert "listener 1883\n" in text
    assert "listener 8883\n" in text
    return (
        text.replace("/mosquitto/auth/", f"{auth}/")
        .replace("/mosquitto/certs/", f"{certs}/")
        .replace("/mosquitto/data/", f"{data}/")
        .replace("listener 1883\n", "")  # the test harness adds a plain listener on a free port
        .replace("listener 8883\n", f"listener {tls_port} 127.0.0.1\n")
    )


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
    result = run_cli("mqtt", "credentials", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "3 gateways, 4 new accounts" in result.stdout
    assert oct((out / "passwd").stat().st_mode & 0o777) == "0o600"
    for f in ("passwd", "acl"):
        os.chmod(out / f, 0o644)  # the broker may run as another user
    creds = {r["username"]: r["password"] for r in csv.DictReader((out / "credentials.csv").open())}
    _make_certs(tmp_path / "certs")
    (tmp_path / "data").mkdir()
    tls_port = free_port()
    private = Private()
    port = start_mosquitto(
        private, shipped_conf(out, tmp_path / "certs", tmp_path / "data", tls_port)
    )
    wait_for(lambda: port_open("127.0.0.1", tls_port), 10, "the TLS listener")
    creds["_tls_port"] = str(tls_port)
    creds["_certs"] = str(tmp_path / "certs")
    yield port, creds
    private.close()


def _client(
    port: int, user: str | None, password: str | None, ca: Path | None = None
) -> tuple[mqtt.Client, int]:
    rc: list[int] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"c-{user}", protocol=mqtt.MQTTv5)
    if ca is not None:
        c.tls_set(ca_certs=str(ca))
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


def test_gateways_connect_over_the_tls_listener_with_their_credentials(
    secured_broker: tuple[int, dict[str, str]],
) -> None:
    _, creds = secured_broker
    tls_port = int(creds["_tls_port"])
    ca = Path(creds["_certs"]) / "ca.crt"
    gw1 = f"{ENT_A}.gw-01"
    client, rc = _client(tls_port, gw1, creds[gw1], ca=ca)
    assert rc == 0
    client.disconnect()
    _, wrong_rc = _client(tls_port, gw1, "not-the-password", ca=ca)
    assert wrong_rc not in (0, -1)  # refused by the broker: bad user name or password
    _, anon_rc = _client(tls_port, None, None, ca=ca)
    assert anon_rc not in (0, -1)
