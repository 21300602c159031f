"""Gateway status (retained, Last Will), last-seen and sequence gaps reach the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from services.core.settings import DatabaseSettings, MqttSettings
from tests.integration.conftest import ENT_A
from tests.support.ingest import IngestProcess
from tests.support.mqtt import Publisher
from tests.support.services import wait_for


def _gateway(db: DatabaseSettings, code: str) -> tuple[object, ...]:
    with psycopg.connect(db.libpq_url) as conn:
        row = conn.execute(
            "SELECT g.status, g.last_seen_at IS NOT NULL, g.seq_first, g.last_seq, g.seq_received "
            "FROM gateways g JOIN enterprises e ON e.id = g.enterprise_id "
            "WHERE e.code = %s AND g.code = %s",
            (ENT_A, code),
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_a_gateways_last_will_marks_it_offline(
    ingest: IngestProcess, small_district: DatabaseSettings, mqtt_settings: MqttSettings
) -> None:
    topic = mqtt_settings.status_topic(ENT_A, "gw-02")
    gw = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{mqtt_settings.topic_root}-gw",
        protocol=mqtt.MQTTv5,
    )
    gw.will_set(topic, json.dumps({"status": "offline"}), qos=1, retain=True)
    ep = mqtt_settings.endpoint
    gw.connect(ep.host, ep.port, keepalive=5)
    gw.loop_start()
    gw.publish(topic, json.dumps({"status": "online"}), qos=1, retain=True).wait_for_publish(10)
    wait_for(lambda: _gateway(small_district, "gw-02")[0] == "online", 20, "status online")
    gw.loop_stop()
    gw.socket().close()  # the gateway vanishes without DISCONNECT: the broker sends its will
    wait_for(lambda: _gateway(small_district, "gw-02")[0] == "offline", 30, "status offline")
    # the retained status stays for the next subscriber; clean it up
    Publisher(mqtt_settings, f"{mqtt_settings.topic_root}-c").publish(topic, [b""], retain=True)


def test_sequence_gaps_are_counted_and_filled_by_late_messages(
    ingest: IngestProcess, publisher: Publisher, small_district: DatabaseSettings
) -> None:
    ts = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    topic = publisher.readings_topic(ENT_A, "gw-01")

    def msg(seq: int) -> bytes:
        return json.dumps(
            {
                "seq": seq,
                "readings": [{"meter": "M-100", "point": "power_kw", "ts": ts, "value": seq}],
            }
        ).encode()

    publisher.publish(topic, [msg(s) for s in (1, 2, 3, 6, 7)])
    wait_for(lambda: _gateway(small_district, "gw-01")[4] == 5, 20, "five messages accounted")
    assert _gateway(small_district, "gw-01")[1:] == (True, 1, 7, 5)
    wait_for(
        lambda: ingest.metric("energymon_ingest_gateway_sequence_gaps", 'gateway="gw-01"') == 2,
        20,
        "gap metric 2",
    )
    publisher.publish(topic, [msg(4), msg(5)])  # late arrivals fill the gap
    wait_for(
        lambda: ingest.metric("energymon_ingest_gateway_sequence_gaps", 'gateway="gw-01"') == 0,
        20,
        "gap metric 0",
    )
    assert (
        ingest.metric("energymon_ingest_gateway_last_seen_timestamp_seconds", 'gateway="gw-01"') > 0
    )
