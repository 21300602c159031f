"""services/core/broker_config.py: the shipped deploy/mosquitto/mosquitto.conf is its `deploy`
profile byte for byte; every profile carries the same durability block; and the demo's broker, run
by a real Mosquitto, holds the backlog the demo's gateways publish (two hours of one message a
second: 3,600 QoS 1 messages) for an offline session, also across a broker restart."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core import broker_config
from services.core.settings import MqttSettings
from tests.integration.broker.conftest import SHIPPED_CONF
from tests.integration.broker.probe import Probe
from tests.support.cli import run_cli
from tests.support.mqtt import Publisher
from tests.support.services import Private, start_mosquitto, wait_for

BACKLOG = 3600
TOPIC = "energymon/v1/91120111MA05K8XX3E/gw-01/readings"
DURABILITY = (
    "autosave_interval",
    "persistent_client_expiration",
    "max_queued_messages",
    "max_queued_bytes",
    "max_inflight_messages",
    "message_size_limit",
    "max_packet_size",
)


def _options(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            found.setdefault(key, []).append(value)
    return found


def test_the_shipped_deploy_config_is_the_rendered_deploy_profile() -> None:
    rendered = broker_config.render(broker_config.for_deploy())
    assert SHIPPED_CONF.read_bytes() == rendered.encode(), (
        "regenerate it: energymon mqtt broker-config > deploy/mosquitto/mosquitto.conf"
    )


def test_the_cli_prints_the_deploy_profile_and_the_demo_profile(tmp_path: Path) -> None:
    deploy = run_cli("mqtt", "broker-config")
    assert deploy.returncode == 0, deploy.stderr
    assert deploy.stdout == SHIPPED_CONF.read_text()
    demo = run_cli(
        "mqtt", "broker-config", "--profile", "demo", "--port", "2883", "--data-dir", str(tmp_path)
    )
    assert demo.returncode == 0, demo.stderr
    options = _options(demo.stdout)
    assert options["listener"] == ["2883 127.0.0.1"]
    assert options["allow_anonymous"] == ["true"]
    assert options["persistence_location"] == [f"{tmp_path}/mosquitto/data/"]


def test_every_profile_carries_the_same_durability_block() -> None:
    profiles = {
        "deploy": broker_config.for_deploy(),
        "demo": broker_config.for_demo(1883, "/var/demo/mosquitto/data", run_as_root=False),
        "test, persistent": broker_config.for_tests(1883, data_dir="/tmp/d"),
        "test": broker_config.for_tests(1883),
    }
    options = {name: _options(broker_config.render(b)) for name, b in profiles.items()}
    deploy = options["deploy"]
    assert deploy["max_queued_messages"] == ["0"]  # unbounded count ...
    assert deploy["max_queued_bytes"] == [str(2 * 1024**3)]  # ... bounded by memory
    for name, found in options.items():
        assert {k: found[k] for k in DURABILITY} == {k: deploy[k] for k in DURABILITY}, name
        assert found["per_listener_settings"] == ["true"], name
    assert options["demo"]["persistence"] == ["true"]
    assert options["test, persistent"]["persistence"] == ["true"]
    assert options["test"]["persistence"] == ["false"]


def test_each_deploy_listener_has_its_own_files_and_only_gateways_are_named_by_username() -> None:
    text = broker_config.render(broker_config.for_deploy())
    internal, gateway = text.split("\nlistener ")[1:]
    assert internal.startswith("1883\n")
    assert "password_file /mosquitto/auth/internal.passwd" in internal
    assert "acl_file /mosquitto/auth/internal.acl" in internal
    assert "use_username_as_clientid" not in internal
    assert "certfile" not in internal
    assert gateway.startswith("8883\n")
    assert "password_file /mosquitto/auth/gateways.passwd" in gateway
    assert "acl_file /mosquitto/auth/gateways.acl" in gateway
    assert "use_username_as_clientid true" in gateway
    assert "tls_version tlsv1.2" in gateway
    assert text.count("allow_anonymous false") == 2
    assert "user" not in _options(text)  # the container image's `mosquitto` user


@pytest.fixture
def demo_broker() -> Iterator[tuple[Private, Path, int]]:
    """The demo's broker as `energymon demo` starts it (Embedded.start_mosquitto, demo profile)."""
    private = Private()
    work = Path(tempfile.mkdtemp(prefix="energymon-demo-mqtt-"))
    try:
        port = private.start_mosquitto(work, profile="demo", temporary=True)
        yield private, work, port
    finally:
        private.close()


def _offline_session(port: int, client_id: str) -> Probe:
    """A persistent session subscribed to the readings, then disconnected (ingest stopped)."""
    probe = Probe(port, client_id=client_id, clean_start=False, session_expiry_s=3600)
    assert probe.connect() == 0
    probe.subscribe(TOPIC)
    probe.close()
    return Probe(port, client_id=client_id, clean_start=False, session_expiry_s=3600)


def _publish_backlog(port: int) -> None:
    publisher = Publisher(MqttSettings(url=f"mqtt://127.0.0.1:{port}"), "demo-gateway")
    try:
        payloads = [
            json.dumps({"seq": i, "readings": [{"pad": "x" * 600}]}) for i in range(BACKLOG)
        ]
        publisher.publish(TOPIC, payloads)
    finally:
        publisher.close()


def _receive_backlog(probe: Probe, expected: int = BACKLOG) -> list[int]:
    assert probe.connect() == 0
    assert probe.session_present == [True]
    probe.wait_received(expected, timeout=120)
    seqs = sorted(json.loads(p)["seq"] for p in probe.received())
    probe.close()
    return seqs


@pytest.mark.fault  # the demo's broker holds its backlog
def test_the_demo_broker_holds_a_two_hour_backlog_for_an_offline_session(
    demo_broker: tuple[Private, Path, int],
) -> None:
    _, _, port = demo_broker
    ingest = _offline_session(port, "demo-ingest-p0")
    _publish_backlog(port)
    assert _receive_backlog(ingest) == list(range(BACKLOG))


@pytest.mark.fault  # the demo's broker holds its backlog
def test_the_demo_brokers_backlog_survives_a_broker_restart(
    demo_broker: tuple[Private, Path, int],
) -> None:
    private, work, port = demo_broker
    ingest = _offline_session(port, "demo-ingest-p0")
    _publish_backlog(port)
    proc = private.procs[-1]
    proc.terminate()  # SIGTERM, as when the demo stops
    assert proc.wait(30) == 0
    assert (work / "data" / "mosquitto.db").exists()
    private.run_mosquitto(work, (work / "mosquitto.conf").read_text(), [port])
    assert _receive_backlog(ingest) == list(range(BACKLOG))


def test_a_persistent_test_broker_survives_a_restart_and_extra_conf_overrides_it() -> None:
    private = Private()
    try:
        # A later line wins: with Mosquitto's default queue (1,000 messages) the backlog is cut.
        port = start_mosquitto(private, "max_queued_messages 1000\n", persistence=True)
        work = private.temp_dirs[-1]
        ingest = _offline_session(port, "test-ingest-p0")
        _publish_backlog(port)
        proc = private.procs[-1]
        proc.terminate()
        assert proc.wait(30) == 0
        assert (work / "data" / "mosquitto.db").exists()
        private.run_mosquitto(work, (work / "mosquitto.conf").read_text(), [port])
        assert ingest.connect() == 0
        assert ingest.session_present == [True]
        ingest.wait_received(1000)
        marker = Publisher(MqttSettings(url=f"mqtt://127.0.0.1:{port}"), "marker")
        marker.publish(TOPIC, [json.dumps({"seq": -1})])  # queued after whatever was kept
        marker.close()
        wait_for(lambda: b'{"seq": -1}' in ingest.received(), 60, "the marker")
        ingest.close()
        assert len(ingest.received()) - 1 < BACKLOG
    finally:
        private.close()
