"""The Sparkplug host against the real Mosquitto and PostgreSQL, driven by the edge node
simulator: sessions, seq gaps, aliases, historical data, replays and stale deaths."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from services.core.schema.tables import enterprises
from services.core.settings import DatabaseSettings, MqttSettings
from services.core.sparkplug.codec import DataType, MetricOut, encode_payload
from services.core.sparkplug.host import NodeState
from services.core.sparkplug.topic import state_topic
from services.core.store.sparkplug_nodes import nodes_of
from simulators.sparkplug.edge_node import EdgeNode, SimMetric
from tests.support.mqtt import Publisher
from tests.support.sparkplug import ENTERPRISE, HostUnderTest, running_host

ENERGY, POWER = (None, "Energy/Import"), (None, "Power")


@pytest.fixture
def host(
    db_settings: DatabaseSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> Iterator[HostUnderTest]:
    with running_host(
        db_settings,
        mqtt_settings,
        tmp_path,
        reorder_window=4,
        reorder_timeout_s=0.5,
        rebirth_min_interval_s=60,
    ) as h:
        yield h


def _node(host: HostUnderTest, mqtt_settings: MqttSettings, **kwargs: object) -> EdgeNode:
    node = EdgeNode(
        mqtt_settings,
        group=host.group,
        node=host.node,
        node_metrics=[SimMetric("Energy/Import"), SimMetric("Power", DataType.FLOAT)],
        devices={"meter-2": [SimMetric("kWh")]},
        client_id=f"{host.group}-edge",
        **kwargs,  # type: ignore[arg-type]
    )
    node.connect()
    return node


def _online_node(host: HostUnderTest, mqtt_settings: MqttSettings) -> EdgeNode:
    node = _node(host, mqtt_settings)
    node.birth()
    host.wait(lambda: _state(host) == "online", "node online")
    return node


def _state(host: HostUnderTest) -> str | None:
    nodes = [n for n in host.service.nodes() if n.group == host.group]
    return nodes[0].state.value if nodes else None


def test_birth_data_death_and_rebirth_store_every_value(host, mqtt_settings):
    node = _node(host, mqtt_settings)
    node.birth({ENERGY: 1_000_000.0, POWER: 12.5, ("meter-2", "kWh"): 7.0})
    host.wait(  # NBIRTH and DBIRTH: two messages, maybe two batches
        lambda: (
            host.values("SP-1", "energy_import_kwh") and host.values("SP-2", "energy_import_kwh")
        ),
        "birth values stored",
    )
    assert host.values("SP-1", "energy_import_kwh")[0][1] == 1000.0  # Wh -> kWh
    assert host.values("SP-1", "power_kw")[0][1] == 12.5
    assert host.values("SP-2", "energy_import_kwh")[0][1] == 7.0
    later = int(time.time() * 1000) + 1_000  # after the birth's timestamp
    node.data({ENERGY: 1_002_000.0, ("meter-2", "kWh"): 8.0}, timestamp_ms=later)
    host.wait(lambda: len(host.values("SP-2", "energy_import_kwh")) == 2, "data stored")
    node.disconnect(send_death=True)
    host.wait(lambda: _state(host) == NodeState.OFFLINE.value, "node offline after NDEATH")
    node.reconnect(client_id=f"{host.group}-edge")
    node.birth({ENERGY: 1_003_000.0, POWER: 13.0, ("meter-2", "kWh"): 9.0})  # at "now" again
    host.wait(lambda: _state(host) == NodeState.ONLINE.value, "node online after rebirth")
    host.wait(lambda: len(host.values("SP-2", "energy_import_kwh")) == 3, "second birth stored")
    (view,) = [n for n in host.service.nodes() if n.group == host.group]
    assert (view.births, view.bd_seq) == (2, 1)
    assert host.metric("energymon_sparkplug_node_births", group=host.group, node=host.node) in (
        1.0,
        2.0,  # refreshed by the timer; the host's own view above is authoritative
    )
    assert host.dead_letter_reasons() == []
    host.service.save_now()  # what the API shows (the timer writes it every few seconds)
    with host.db.connect() as conn:
        ent_id = conn.execute(
            select(enterprises.c.id).where(enterprises.c.code == ENTERPRISE)
        ).scalar_one()
        (saved,) = nodes_of(conn, enterprise_id=ent_id)
    assert (saved.group, saved.state, saved.births, saved.devices) == (
        host.group,
        "online",
        2,
        ("meter-2",),
    )
    node.disconnect()


def test_a_birth_without_values_carries_each_metric_last_value(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)  # nothing given yet: the birth says 0
    a_minute_ago = int(time.time() * 1000) - 60_000  # before that birth: its own instant
    node.data({ENERGY: 5_000_000.0}, timestamp_ms=a_minute_ago)
    host.wait(lambda: len(host.values("SP-1", "energy_import_kwh")) == 2, "data stored")
    node.birth()  # as a rebirth request or the primary host's return makes it
    host.wait(lambda: len(host.values("SP-1", "energy_import_kwh")) == 3, "rebirth stored")
    values = sorted(v for _, v in host.values("SP-1", "energy_import_kwh"))
    assert values == [0.0, 5000.0, 5000.0]  # Wh -> kWh; the rebirth's counter is not 0
    node.disconnect()


def test_a_seq_gap_triggers_exactly_one_rebirth_request(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)
    node.lose_next()
    node.data({ENERGY: 1.0}, timestamp_ms=1_764_633_600_000)
    node.data({ENERGY: 2.0}, timestamp_ms=1_764_633_660_000)  # held, then a gap after 0.5 s
    node.data({ENERGY: 3.0}, timestamp_ms=1_764_633_720_000)
    host.wait(lambda: node.births == 2, "the node answered a rebirth request")
    # the birth's, 2.0 and 3.0 (1.0 was lost), the rebirth's
    host.wait(
        lambda: len(host.values("SP-1", "energy_import_kwh")) == 4, "values around the gap stored"
    )
    assert node.rebirth_commands == 1
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="seq_gap") == 1.0
    # after the rebirth the sequence is whole again: more data asks for nothing
    node.data({ENERGY: 4.0}, timestamp_ms=1_764_633_780_000)
    host.wait(lambda: len(host.values("SP-1", "energy_import_kwh")) == 5, "data after rebirth")
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="seq_gap") == 1.0
    assert node.rebirth_commands == 1
    node.disconnect()


def test_reordered_messages_are_stored_without_a_rebirth(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)
    node.swap_next()
    node.data({ENERGY: 1.0}, timestamp_ms=1_764_633_600_000)
    node.data({ENERGY: 2.0}, timestamp_ms=1_764_633_660_000)
    host.wait(lambda: len(host.values("SP-1", "energy_import_kwh")) == 3, "both stored")
    assert host.metric("energymon_sparkplug_messages_ignored_total", reason="held_for_reorder") == 1
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="seq_gap") == 0.0
    node.disconnect()


def test_historical_values_are_stored_but_do_not_move_latest(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)
    # both newer than the birth's values; the historical one newest of all
    live_ts = int(time.time() * 1000) + 1_000
    hist_ts = live_ts + 1_000
    node.data({ENERGY: 5_000.0}, timestamp_ms=live_ts)
    node.data({ENERGY: 9_000.0}, timestamp_ms=hist_ts, historical=True)
    host.wait(
        lambda: 9.0 in [v for _, v in host.values("SP-1", "energy_import_kwh")],
        "historical value stored",
    )
    assert host.service.latest(host.group, host.node, None, "Energy/Import") == (live_ts, 5_000.0)
    assert host.metric("energymon_sparkplug_values_total", historical="true") == 1.0
    node.disconnect()


def test_a_replayed_ndata_stores_nothing_twice(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)
    node.data({ENERGY: 1_500.0, ("meter-2", "kWh"): 3.0}, timestamp_ms=1_764_633_600_000)
    host.wait(lambda: host.count_readings() == 5, "birth (3) and data (2) stored")
    node.replay_last()
    host.wait(
        lambda: host.metric("energymon_ingest_readings_duplicate_total", source="mqtt") >= 1,
        "the replay reached storage",
    )
    assert host.count_readings() == 5
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="seq_gap") == 0.0
    node.disconnect()


def test_an_unknown_alias_asks_a_rebirth(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)
    node.send_stale_alias()
    host.wait(lambda: node.births == 2, "the node answered a rebirth request")
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="unknown_alias") == 1
    assert host.metric("energymon_sparkplug_metrics_skipped_total", reason="unknown_alias") == 1
    node.disconnect()


def test_an_alias_change_at_rebirth_is_followed(host, mqtt_settings):
    node = _online_node(host, mqtt_settings)
    node.change_aliases()
    node.birth()
    node.data({ENERGY: 2_000.0}, timestamp_ms=1_764_633_600_000)
    host.wait(
        lambda: 2.0 in [v for _, v in host.values("SP-1", "energy_import_kwh")],
        "data under the new aliases stored",
    )
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="unknown_alias") == 0
    node.disconnect()


def test_data_before_birth_asks_a_rebirth(host, mqtt_settings):
    node = _node(host, mqtt_settings)
    node.data({ENERGY: 1.0})  # no birth yet
    host.wait(lambda: node.births == 1, "the node answered a rebirth request")
    assert host.metric("energymon_sparkplug_rebirth_requests_total", cause="data_before_birth") == 1
    node.disconnect()


def test_a_stale_ndeath_does_not_end_the_newer_session(host, mqtt_settings):
    node = _node(host, mqtt_settings, bd_seq=5)
    node.birth()
    host.wait(lambda: _state(host) == "online", "node online")
    pub = Publisher(mqtt_settings, f"{host.group}-stale")
    try:
        stale = encode_payload(
            [MetricOut(4, DataType.INT64, name="bdSeq")], timestamp_ms=1, seq=None
        )
        pub.publish(f"spBv1.0/{host.group}/NDEATH/{host.node}", [stale])
        host.wait(
            lambda: (
                host.metric("energymon_sparkplug_messages_ignored_total", reason="stale_death") == 1
            ),
            "stale death seen",
        )
        assert _state(host) == "online"
        node.drop_link()  # the broker publishes the Will, bdSeq 5: the session ends
        host.wait(lambda: _state(host) == "offline", "node offline after its own death")
    finally:
        pub.close()


def test_unbound_metrics_are_dead_lettered_with_the_usual_reasons(host, mqtt_settings):
    node = EdgeNode(
        mqtt_settings,
        group=host.group,
        node=host.node,
        node_metrics=[SimMetric("Energy/Import"), SimMetric("Temperature")],
        devices={"meter-9": [SimMetric("kWh")]},
        client_id=f"{host.group}-edge",
    )
    node.connect()
    node.birth()
    host.wait(lambda: len(host.dead_letter_reasons()) == 2, "unbound metrics dead-lettered")
    assert host.dead_letter_reasons() == ["unknown_meter", "unknown_point"]
    assert len(host.values("SP-1", "energy_import_kwh")) == 1
    node.disconnect()


def test_the_host_publishes_a_retained_state_and_a_matching_will(host, mqtt_settings):
    got: list[dict[str, object]] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: got.append(orjson.loads(msg.payload))
    ep = mqtt_settings.endpoint
    client.connect(ep.host, ep.port)
    client.subscribe(state_topic(host.host_id), qos=1)
    client.loop_start()
    try:
        host.wait(lambda: got, "retained STATE")
        assert got[0]["online"] is True
        birth_ts = got[0]["timestamp"]
        host.service.stop()
        host.wait(lambda: len(got) == 2, "offline STATE")
        assert got[1] == {"online": False, "timestamp": birth_ts}
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_primary_host_gets_stored_data_as_historical_after_its_return(
    db_settings, mqtt_settings, tmp_path
):
    with running_host(db_settings, mqtt_settings, tmp_path) as host:
        node = _node(host, mqtt_settings, primary_host=host.host_id)
        node.wait_host_online()
        host.wait(lambda: _state(host) == "online", "births after the host's STATE")
        host.service.stop()  # the host goes away: the node keeps its data
        host.wait(lambda: not node._host_online_event.is_set(), "node saw the host offline")
        node.data({ENERGY: 42_000.0}, timestamp_ms=1_764_633_600_000)
        host.service.start()  # back: the node re-births and forwards as historical
        stored_at = datetime.fromtimestamp(1_764_633_600, UTC)
        # at the time it was taken: the node's rebirth also carries 42.0, as its current value
        host.wait(
            lambda: (stored_at, 42.0) in host.values("SP-1", "energy_import_kwh"),
            "stored-and-forwarded value",
        )
        assert host.metric("energymon_sparkplug_values_total", historical="true") == 1.0
        node.disconnect()
