"""The Sparkplug B host application inside ingest: one MQTT session, the host state machine
(services/core/sparkplug/host.py), and the one pipeline (services/ingest/engine.py).

- Connects with clean start and a retained Will on ``spBv1.0/STATE/<host_id>``
  (``{"online": false, "timestamp": T}``), subscribes to ``spBv1.0/#``, and once the broker has
  granted the subscription publishes ``{"online": true, "timestamp": T}`` there, retained, QoS 1,
  with the same ``T`` (Sparkplug 3.0.0, "Sparkplug Host Application" STATE messages). Edge nodes
  that name this host as their Primary Host store and forward while it says offline.
- Each message is decoded, passed to the host state machine under a lock (the paho thread and the
  timer thread share it), and its values go to the engine as typed readings; the MQTT
  acknowledgement (for QoS 1 deliveries: deaths) is sent after their commit.
- A timer thread declares reorder timeouts as gaps, refreshes the registry bindings and the
  per-node metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine

from services.core.logging import get_logger
from services.core.settings import MqttSettings, SparkplugSettings
from services.core.sparkplug.codec import (
    DataType,
    MetricOut,
    PayloadError,
    decode_payload,
    encode_payload,
)
from services.core.sparkplug.host import (
    REBIRTH_METRIC,
    NodeView,
    SparkplugHost,
    Step,
)
from services.core.sparkplug.mapping import SparkplugMapping, load_mapping, to_message
from services.core.sparkplug.topic import NAMESPACE, command_topic, parse_topic, state_topic
from services.core.store.sparkplug_nodes import NodeRow, save_nodes
from services.ingest.engine import IngestEngine
from services.ingest.mqtt.client import new_client
from services.ingest.sparkplug.metrics import SparkplugMetrics

log = get_logger(__name__)

_TICK_S = 0.25
_SAVE_EVERY_S = 5.0  # how often the bound nodes' state is written for the API


def state_payload(*, online: bool, timestamp_ms: int) -> bytes:
    """The STATE payload of Sparkplug 3.0.0: UTF-8 JSON ``{"online": ..., "timestamp": ...}``."""
    return orjson.dumps({"online": online, "timestamp": timestamp_ms})


def rebirth_payload(timestamp_ms: int) -> bytes:
    """An NCMD asking the node to publish its births again."""
    return encode_payload(
        [MetricOut(True, DataType.BOOLEAN, name=REBIRTH_METRIC, timestamp_ms=timestamp_ms)],
        timestamp_ms=timestamp_ms,
        seq=None,
    )


class SparkplugIngest:
    def __init__(
        self,
        *,
        mqtt_settings: MqttSettings,
        settings: SparkplugSettings,
        engine: IngestEngine,
        db: Engine,
        metrics: SparkplugMetrics,
        mapping_refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._db = db
        self.metrics = metrics
        self._refresh_s = mapping_refresh_s
        self._clock = clock
        self.host = SparkplugHost(
            reorder_window=settings.reorder_window,
            reorder_timeout_s=settings.reorder_timeout_s,
            rebirth_min_interval_s=settings.rebirth_min_interval_s,
        )
        self._lock = threading.Lock()
        self.mapping = SparkplugMapping()
        self._mapping_at = float("-inf")
        self._saved_at = float("-inf")
        self._state_topic = state_topic(settings.host_id)
        self._state_ts = 0
        self._online = False
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        client = new_client(
            mqtt_settings, settings.client_id or f"energymon-sparkplug-{settings.host_id}"
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        self._mqtt = mqtt_settings

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._refresh_mapping()
        self._set_will()
        endpoint = self._mqtt.endpoint
        self._client.connect_async(
            endpoint.host, endpoint.port, keepalive=self._mqtt.keepalive_s, clean_start=True
        )
        self._client.loop_start()
        self._timer = threading.Thread(target=self._run_timer, name="sparkplug-timer", daemon=True)
        self._timer.start()

    def stop(self) -> None:
        """Say offline (retained) and leave; a clean DISCONNECT sends no Will."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join(5)
        if self._online:
            self._online = False  # our own offline STATE comes back to us: not a stale Will
            info = self._client.publish(
                self._state_topic,
                state_payload(online=False, timestamp_ms=self._state_ts),
                qos=1,
                retain=True,
            )
            info.wait_for_publish(5)
        self._client.disconnect()
        self._client.loop_stop()
        self._online = False
        self.metrics.connected.set(0)

    @property
    def ready(self) -> bool:
        return self._online

    def nodes(self) -> list[NodeView]:
        with self._lock:
            return self.host.nodes()

    def latest(
        self, group: str, node: str, device: str | None, name: str
    ) -> tuple[int | None, float] | None:
        with self._lock:
            return self.host.latest(group, node, device, name)

    # ---- STATE ------------------------------------------------------------------------------
    def _set_will(self) -> None:
        # A new timestamp per connection: the birth that follows carries the same one.
        self._state_ts = int(time.time() * 1000)
        self._client.will_set(
            self._state_topic,
            state_payload(online=False, timestamp_ms=self._state_ts),
            qos=1,
            retain=True,
        )

    def _publish_online(self) -> None:
        self._client.publish(
            self._state_topic,
            state_payload(online=True, timestamp_ms=self._state_ts),
            qos=1,
            retain=True,
        )
        self._online = True
        self.metrics.connected.set(1)
        log.info("sparkplug host online", host_id=self._settings.host_id)

    # ---- paho callbacks (network thread) ----------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("sparkplug host connect refused", reason=str(reason))
            return
        client.subscribe(f"{NAMESPACE}/#", qos=1)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("sparkplug subscription refused", reasons=[str(r) for r in reasons])
            return
        self._publish_online()

    def _on_disconnect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._online = False
        self.metrics.connected.set(0)
        if not self._stop.is_set():
            log.warning("sparkplug host disconnected; reconnecting", reason=str(reason))
            self._set_will()  # taken by paho's next CONNECT

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)

        try:
            self._message(msg.topic, bytes(msg.payload), ack)
        except Exception:
            # one bad message must not stop the loop; it is acknowledged so it is not redelivered
            log.exception("sparkplug message failed", topic=msg.topic)
            ack()

    def _message(self, topic_text: str, payload: bytes, ack: Callable[[], None]) -> None:
        if topic_text == self._state_topic:
            self._own_state(payload)
            ack()
            return
        topic = parse_topic(topic_text)
        if topic is None:
            ack()  # another host's STATE, or not an edge topic
            return
        self.metrics.messages.labels(topic.kind.value).inc()
        try:
            decoded = decode_payload(payload)
        except PayloadError as err:
            self.metrics.undecodable.inc()
            log.warning("sparkplug payload undecodable", topic=topic_text, error=err.detail)
            ack()
            return
        received_at = datetime.now(UTC)
        with self._lock:
            step = self.host.handle(topic, decoded, self._clock())
        self._act(topic.node_key, topic_text, step, received_at, ack)

    def _own_state(self, payload: bytes) -> None:
        """Our Will published after a stale connection while we are connected: say online again
        (3.0.0: a host that sees itself offline republishes its birth)."""
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        stale = isinstance(doc, dict) and doc.get("online") is False
        if stale and self._online and not self._stop.is_set():
            self._publish_online()

    # ---- acting on a step -------------------------------------------------------------------
    def _act(
        self,
        node_key: tuple[str, str],
        topic: str,
        step: Step,
        received_at: datetime,
        ack: Callable[[], None],
    ) -> None:
        m = self.metrics
        bound = node_key in self.mapping.nodes
        if step.ignored is not None:
            m.ignored.labels(step.ignored.value).inc()
        for reason, n in step.skipped.items():
            m.skipped.labels(reason.value).inc(n)
        if step.rebirth is not None:
            m.rebirths.labels(step.rebirth.value).inc()
            if bound:
                m.node_rebirths.labels(*node_key, step.rebirth.value).inc()
            now_ms = int(time.time() * 1000)
            self._client.publish(command_topic(*node_key), rebirth_payload(now_ms), qos=0)
            log.info(
                "sparkplug rebirth requested",
                group=node_key[0],
                node=node_key[1],
                cause=step.rebirth.value,
            )
        if step.rebirth_suppressed is not None:
            m.rebirths_suppressed.labels(step.rebirth_suppressed.value).inc()
        if not step.values:
            ack()
            return
        historical = sum(1 for v in step.values if v.is_historical)
        if historical:
            m.values.labels("true").inc(historical)
        m.values.labels("false").inc(len(step.values) - historical)
        message, bad_ts = to_message(self.mapping, node_key, topic, step.values, received_at)
        if bad_ts:
            m.skipped.labels("invalid_timestamp").inc(bad_ts)
        if message is None:
            ack()
            return
        self._engine.submit("readings", message, ack, "sparkplug")

    # ---- timer thread -----------------------------------------------------------------------
    def _run_timer(self) -> None:
        while not self._stop.wait(_TICK_S):
            try:
                self._tick()
            except Exception:
                log.exception("sparkplug timer round failed")

    def _tick(self) -> None:
        received_at = datetime.now(UTC)
        with self._lock:
            steps = self.host.tick(self._clock())
        for node_key, step in steps.items():
            topic = f"{NAMESPACE}/{node_key[0]}/NDATA/{node_key[1]}"
            self._act(node_key, topic, step, received_at, _noop)
        if self._clock() - self._mapping_at >= self._refresh_s:
            self._refresh_mapping()
        views = self._node_metrics()
        if self._clock() - self._saved_at >= _SAVE_EVERY_S:
            self._save_nodes(views)

    def save_now(self) -> None:
        """Write the bound nodes' state at once (tests; the timer does it every few seconds)."""
        self._save_nodes(self.nodes())

    def _save_nodes(self, views: list[NodeView]) -> None:
        owners = self.mapping.nodes
        rows = [
            NodeRow(
                v.group,
                v.node,
                owners[(v.group, v.node)],
                v.state.value,
                v.bd_seq,
                v.births,
                v.devices,
                v.rebirth_requests,
            )
            for v in views
            if (v.group, v.node) in owners
        ]
        try:
            with self._db.begin() as conn:
                save_nodes(conn, self._settings.host_id, rows)
        except Exception as err:  # noqa: BLE001 - the next round tries again
            log.warning("sparkplug node state not saved", error=str(err)[:300])
            return
        self._saved_at = self._clock()

    def _refresh_mapping(self) -> None:
        try:
            with self._db.connect() as conn:
                mapping = load_mapping(conn)
        except Exception as err:  # noqa: BLE001 - keep the previous bindings
            log.warning("sparkplug bindings not refreshed", error=str(err)[:300])
            self._mapping_at = self._clock() - self._refresh_s + 2.0  # retry soon
            return
        self.mapping = mapping
        self._mapping_at = self._clock()

    def _node_metrics(self) -> list[NodeView]:
        views = self.nodes()
        counts = dict.fromkeys(("online", "offline", "unborn"), 0)
        for v in views:
            counts[v.state.value] += 1
            if (v.group, v.node) in self.mapping.nodes:
                self.metrics.node_online.labels(v.group, v.node).set(v.state == "online")
                self.metrics.node_births.labels(v.group, v.node).set(v.births)
        for state, n in counts.items():
            self.metrics.nodes.labels(state).set(n)
        return views


def _noop() -> None:
    return None
