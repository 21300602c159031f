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
            "SELECT g.status, g.last_seen_at IS NOT NULL, g.last_seq, g.seq_epoch "
            "FROM gateways g JOIN enterprises e ON e.id = g.enterprise_id "
            "WHERE e.code = %s AND g.code = %s",
            (ENT_A, code),
        ).fetchone()
    assert row is not None
    return tuple(row)


def _gaps(db: DatabaseSettings, code: str) -> list[tuple[int, int, int]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT s.epoch, s.first_seq, s.last_seq FROM gateway_seq_gaps s "
            "JOIN gateways g ON g.id = s.gateway_id JOIN enterprises e ON e.id = g.enterprise_id "
            "WHERE e.code = %s AND g.code = %s ORDER BY s.epoch, s.first_seq",
            (ENT_A, code),
        ).fetchall()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


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


def test_sequence_gaps_are_kept_as_ranges_and_filled_by_late_messages(
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

    publisher.publish(topic, [msg(5000 + s) for s in (1, 2, 3, 6, 7, 12)])
    wait_for(lambda: _gateway(small_district, "gw-01")[2] == 5012, 20, "the highest seq")
    assert _gateway(small_district, "gw-01")[1:] == (True, 5012, 0)
    assert _gaps(small_district, "gw-01") == [(0, 5004, 5005), (0, 5008, 5011)]
    wait_for(
        lambda: ingest.metric("energymon_ingest_gateway_sequence_gaps", 'gateway="gw-01"') == 6,
        20,
        "gap metric 6",
    )
    publisher.publish(topic, [msg(5004), msg(5005), msg(5009)])  # late arrivals fill gaps
    wait_for(
        lambda: _gaps(small_district, "gw-01") == [(0, 5008, 5008), (0, 5010, 5011)], 20, "filled"
    )
    wait_for(
        lambda: ingest.metric("energymon_ingest_gateway_sequence_gaps", 'gateway="gw-01"') == 3,
        20,
        "gap metric 3",
    )
    # the gateway restarts its counter (far below the highest): a new epoch; the old epoch's
    # gaps stay as they were, nobody can fill them by number any more
    publisher.publish(topic, [msg(1), msg(3)])
    wait_for(lambda: _gateway(small_district, "gw-01")[2:] == (3, 1), 20, "a new epoch")
    assert _gaps(small_district, "gw-01") == [(0, 5008, 5008), (0, 5010, 5011), (1, 2, 2)]
    assert (
        ingest.metric("energymon_ingest_gateway_last_seen_timestamp_seconds", 'gateway="gw-01"') > 0
    )
