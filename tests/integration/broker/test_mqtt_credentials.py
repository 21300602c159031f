"""Generated credentials loaded by a real Mosquitto running the shipped configuration
(deploy/mosquitto/mosquitto.conf): platform accounts on the internal listener only, gateways on the
TLS gateway listener only, each gateway publishing only as itself, reading only its own commands and
never disturbing ingest's session. A plain client with the ingest account and a persistent session
stands in for ingest (see conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.core.broker_config import listener_auth
from services.core.registry.mqtt_acl import read_credentials
from services.core.settings import DatabaseSettings
from tests.integration.broker.conftest import INGEST_CLIENT_ID, INGEST_USER, TOPICS, DeployBroker
from tests.integration.broker.probe import NOT_AUTHORIZED, Probe
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.cli import run_cli
from tests.support.services import Private, start_mosquitto

GW1 = f"{ENT_A}.gw-01"


def _connect(probe: Probe) -> int:
    rc = probe.connect()
    probe.close()
    return rc


def _payload(seq: int) -> str:
    reading = {"meter": "M-100", "point": "energy_import_kwh", "ts": 1_763_856_900_000 + seq}
    return json.dumps({"seq": seq, "readings": [{**reading, "value": float(seq)}]})


def test_anonymous_clients_are_refused_on_both_listeners(deploy_broker: DeployBroker) -> None:
    assert _connect(Probe(deploy_broker.internal_port)) == NOT_AUTHORIZED
    assert _connect(Probe(deploy_broker.gateway_port, ca=deploy_broker.ca)) == NOT_AUTHORIZED


def test_gateways_log_in_only_on_the_gateway_listener_and_ingest_only_on_the_internal_one(
    deploy_broker: DeployBroker,
) -> None:
    b = deploy_broker
    gw_password, ingest_password = b.creds[GW1], b.creds[INGEST_USER]
    assert _connect(b.gateway(ENT_A, "gw-01")) == 0  # over TLS, with its generated password
    assert _connect(Probe(b.internal_port, username=GW1, password=gw_password)) != 0
    assert _connect(Probe(b.internal_port, username=INGEST_USER, password=ingest_password)) == 0
    ingest_on_gw_listener = Probe(
        b.gateway_port, username=INGEST_USER, password=ingest_password, ca=b.ca
    )
    assert _connect(ingest_on_gw_listener) != 0
    wrong = Probe(b.gateway_port, username=GW1, password="not-the-password", ca=b.ca)
    assert _connect(wrong) not in (0, -1)  # refused by the broker: bad user name or password


@pytest.mark.fault  # a rogue gateway credential (issue: compliance-grade ingest)
def test_a_gateways_share_wildcard_and_foreign_subscriptions_get_nothing_and_ingest_gets_all(
    deploy_broker: DeployBroker,
) -> None:
    b = deploy_broker
    ingest = b.ingest()
    assert ingest.connect() == 0
    ingest.subscribe("energymon/v1/+/+/readings")
    rogue = b.gateway(ENT_A, "gw-01")
    assert rogue.connect() == 0
    stolen = [
        "$share/energymon-ingest/energymon/v1/+/+/readings",
        "$share/energymon-ingest/energymon/v1/+/+/status",
        "#",
        "energymon/v1/+/+/readings",
        TOPICS.commands_topic(ENT_A, "gw-02"),
        TOPICS.commands_topic(ENT_B, "gw-01"),
    ]
    for topic in stolen:
        # Mosquitto's ACL file grants every SUBSCRIBE and checks read access on each delivery.
        rogue.subscribe(topic)
    rogue.subscribe(TOPICS.commands_topic(ENT_A, "gw-01"))
    other = b.gateway(ENT_A, "gw-02")
    assert other.connect() == 0
    payloads = [_payload(i) for i in range(100)]
    acks = other.publish_many(TOPICS.readings_topic(ENT_A, "gw-02"), payloads)
    assert set(acks) == {0}  # accepted, with a matching subscriber
    ingest.publish(TOPICS.commands_topic(ENT_A, "gw-02"), "for gw-02 only")
    ingest.publish(TOPICS.commands_topic(ENT_A, "gw-01"), "marker")
    rogue.wait_received(1, TOPICS.commands_topic(ENT_A, "gw-01"))  # sent after everything else
    ingest.wait_received(100)
    assert sorted(json.loads(p)["seq"] for p in ingest.received()) == list(range(100))
    # Its own commands only: once through its own subscription, once through `#`.
    assert set(rogue.received()) == {b"marker"}
    assert all(t == TOPICS.commands_topic(ENT_A, "gw-01") for t, _ in rogue.messages)
    for probe in (ingest, rogue, other):
        probe.close()


@pytest.mark.fault  # a rogue gateway credential (issue: compliance-grade ingest)
def test_a_gateway_with_ingests_client_id_does_not_disturb_ingests_online_session(
    deploy_broker: DeployBroker,
) -> None:
    b = deploy_broker
    ingest = b.ingest()
    assert ingest.connect() == 0
    ingest.subscribe("energymon/v1/+/+/readings")
    rogue = b.gateway(ENT_A, "gw-01", client_id=INGEST_CLIENT_ID)
    assert rogue.connect() == 0
    gw2 = b.gateway(ENT_A, "gw-02")
    assert gw2.connect() == 0
    gw2.publish_many(TOPICS.readings_topic(ENT_A, "gw-02"), [_payload(i) for i in range(20)])
    ingest.wait_received(20, timeout=20)
    assert ingest.disconnects == []  # not taken over: the gateway's client id is its user name
    assert ingest.connected
    for probe in (ingest, rogue, gw2):
        probe.close()


@pytest.mark.fault  # a rogue gateway credential (issue: compliance-grade ingest)
def test_a_gateway_with_ingests_client_id_and_clean_start_leaves_ingests_queue_intact(
    deploy_broker: DeployBroker,
) -> None:
    b = deploy_broker
    ingest = b.ingest()
    assert ingest.connect() == 0
    ingest.subscribe("energymon/v1/+/+/readings")
    ingest.close()  # ingest stopped: the broker queues for its session
    gw2 = b.gateway(ENT_A, "gw-02")
    assert gw2.connect() == 0
    gw2.publish_many(TOPICS.readings_topic(ENT_A, "gw-02"), [_payload(i) for i in range(50)])
    rogue = b.gateway(ENT_A, "gw-01", client_id=INGEST_CLIENT_ID, clean_start=True)
    assert rogue.connect() == 0  # with a clean start it would have wiped ingest's queue
    rogue.close()
    gw2.publish_many(TOPICS.readings_topic(ENT_A, "gw-02"), [_payload(i) for i in range(50, 100)])
    ingest = b.ingest()
    assert ingest.connect() == 0
    assert ingest.session_present == [True]
    ingest.wait_received(100)
    assert sorted(json.loads(p)["seq"] for p in ingest.received()) == list(range(100))
    ingest.close()
    gw2.close()


def test_a_gateway_reads_its_own_commands_and_publishes_only_its_own_readings_and_status(
    deploy_broker: DeployBroker,
) -> None:
    b = deploy_broker
    ingest = b.ingest()
    assert ingest.connect() == 0
    ingest.subscribe("energymon/v1/+/+/readings")
    ingest.subscribe("energymon/v1/+/+/status")
    gw1 = b.gateway(ENT_A, "gw-01")
    assert gw1.connect() == 0
    own_commands = TOPICS.commands_topic(ENT_A, "gw-01")
    assert gw1.subscribe(own_commands) == [1]
    command = json.dumps({"command": "resend", "from_seq": 10, "to_seq": 20})
    assert ingest.publish(own_commands, command) == 0
    gw1.wait_received(1, own_commands)
    assert gw1.received(own_commands) == [command.encode()]
    # Denied: publishing to its own commands topic (it would have received it back) and to
    # another gateway's readings and status. (Mosquitto 2.0.11 also drops the connection after
    # such a PUBACK; the client reconnects.)
    assert gw1.publish(own_commands, "self-issued") == NOT_AUTHORIZED
    assert gw1.publish(TOPICS.readings_topic(ENT_A, "gw-02"), _payload(1)) == NOT_AUTHORIZED
    assert gw1.publish(TOPICS.status_topic(ENT_B, "gw-01"), "{}", retain=True) == NOT_AUTHORIZED
    assert gw1.publish(TOPICS.readings_topic(ENT_A, "gw-01"), _payload(2)) in (0, 16)
    online = json.dumps({"status": "online"})
    assert gw1.publish(TOPICS.status_topic(ENT_A, "gw-01"), online, retain=True) in (0, 16)
    ingest.wait_received(1, TOPICS.status_topic(ENT_A, "gw-01"))
    ingest.wait_received(1, TOPICS.readings_topic(ENT_A, "gw-01"))
    assert ingest.received(TOPICS.readings_topic(ENT_A, "gw-01")) == [_payload(2).encode()]
    assert ingest.received(TOPICS.status_topic(ENT_A, "gw-01")) == [online.encode()]
    assert [t for t, _ in ingest.messages] == [
        TOPICS.readings_topic(ENT_A, "gw-01"),
        TOPICS.status_topic(ENT_A, "gw-01"),
    ]
    assert gw1.received(own_commands) == [command.encode()]
    # The ingest account may write commands and nothing else.
    assert ingest.publish(TOPICS.readings_topic(ENT_A, "gw-01"), _payload(3)) == NOT_AUTHORIZED
    gw1.close()
    ingest.close()


def test_the_deploy_broker_keeps_a_stopped_ingests_queue_across_a_restart(
    deploy_broker: DeployBroker,
) -> None:
    b = deploy_broker
    ingest = b.ingest()
    assert ingest.connect() == 0
    ingest.subscribe("energymon/v1/+/+/readings")
    ingest.close()
    gw2 = b.gateway(ENT_A, "gw-02")
    assert gw2.connect() == 0
    gw2.publish_many(TOPICS.readings_topic(ENT_A, "gw-02"), [_payload(i) for i in range(500)])
    gw2.close()
    b.stop()
    database = b.data_dir / "mosquitto.db"
    assert database.exists()  # written by the user the broker runs as
    b.start()
    ingest = b.ingest()
    assert ingest.connect() == 0
    assert ingest.session_present == [True]
    ingest.wait_received(500)
    assert sorted(json.loads(p)["seq"] for p in ingest.received()) == list(range(500))
    ingest.close()


def test_credentials_give_ingest_the_password_in_its_mqtt_url_and_keep_passwords_on_rerun(
    small_district: DatabaseSettings, tmp_path: Path
) -> None:
    out = tmp_path / "auth"
    env = {
        "ENERGYMON_DATABASE_URL": small_district.url,
        "ENERGYMON_MQTT_URL": "mqtt://energymon-ingest:from%2Fthe-url@127.0.0.1:1883",
    }
    first = run_cli("mqtt", "credentials", "--out", str(out), env=env)
    assert first.returncode == 0, first.stderr
    creds = read_credentials((out / "credentials.csv").read_text())
    assert creds[INGEST_USER] == "from/the-url"
    env["ENERGYMON_MQTT_URL"] = "mqtt://127.0.0.1:1883"  # no account in the URL: keep what is known
    second = run_cli("mqtt", "credentials", "--out", str(out), env=env)
    assert second.returncode == 0, second.stderr
    assert "3 gateways, 0 new accounts" in second.stdout
    assert read_credentials((out / "credentials.csv").read_text()) == creds
    private = Private()
    try:
        port = start_mosquitto(private, auth=listener_auth(str(out), "internal"))
        assert _connect(Probe(port, username=INGEST_USER, password="from/the-url")) == 0
        assert _connect(Probe(port, username=GW1, password=creds[GW1])) != 0
        assert _connect(Probe(port)) == NOT_AUTHORIZED
    finally:
        private.close()
