"""A Sparkplug B 3.0 edge node: births, data, deaths, and the faults a host must survive.

It behaves as the specification asks of an edge node (Eclipse Sparkplug 3.0.0, chapter 5): an
NDEATH Will carrying its ``bdSeq``; NBIRTH (seq 0) with ``bdSeq``, ``Node Control/Rebirth`` and
every metric with name, alias, datatype and value; DBIRTH per device; data by alias only; seq
0-255 across node and devices; births again on a rebirth command. With ``primary_host`` it waits
for that host's STATE to say online before its births, and while the host is offline it keeps
its data and sends it as historical once the host is back (store and forward).

Faults, for tests and the demo: :meth:`lose_next` (a sequence number is used and never sent),
:meth:`swap_next` (two messages sent in the wrong order), :meth:`change_aliases` (the next birth
renumbers every alias) and :meth:`send_stale_alias` (data with an alias the birth did not give).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from services.core.settings import MqttSettings
from services.core.sparkplug.codec import DataType, MetricOut, decode_payload, encode_payload
from services.core.sparkplug.host import BD_SEQ, REBIRTH_METRIC
from services.core.sparkplug.topic import MessageType, Topic, state_topic


@dataclass(frozen=True, slots=True)
class SimMetric:
    name: str
    datatype: int = DataType.DOUBLE


@dataclass
class _Pending:
    """Data kept while the primary host is offline: (device, name, timestamp ms, value)."""

    values: list[tuple[str | None, str, int, float]] = field(default_factory=list)


class EdgeNode:
    def __init__(
        self,
        mqtt_settings: MqttSettings,
        *,
        group: str,
        node: str,
        node_metrics: list[SimMetric],
        devices: dict[str, list[SimMetric]] | None = None,
        primary_host: str | None = None,
        bd_seq: int = 0,
        client_id: str | None = None,
    ) -> None:
        self.group, self.node = group, node
        self.node_metrics = node_metrics
        self.devices = devices or {}
        self.primary_host = primary_host
        self.bd_seq = bd_seq
        self.births = 0
        self.rebirth_commands = 0
        self._seq = 0
        self._alias_base = 1
        self._lose = 0
        self._swap = False
        self._swapped: tuple[str, bytes] | None = None
        self._host_online = primary_host is None
        self._host_online_event = threading.Event()
        self._pending = _Pending()
        # each metric's current value (device, name) -> value: what a birth carries
        self.current: dict[tuple[str | None, str], float] = {}
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self._settings = mqtt_settings
        self._client = self._new_client(client_id or f"edge-{group}-{node}")

    # ---- connection -------------------------------------------------------------------------
    def _new_client(self, client_id: str) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        ep = self._settings.endpoint
        if ep.username:
            client.username_pw_set(ep.username, ep.password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        return client

    def connect(self, timeout: float = 10.0) -> None:
        """Connect with the NDEATH Will of this session's bdSeq; births follow (at once, or when
        the primary host says online)."""
        self._client.will_set(str(self._topic(MessageType.NDEATH)), self._death_payload(), qos=1)
        ep = self._settings.endpoint
        self._client.connect(ep.host, ep.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError("edge node could not connect")

    def wait_host_online(self, timeout: float = 10.0) -> None:
        if not self._host_online_event.wait(timeout):
            raise TimeoutError("primary host did not come online")

    def disconnect(self, *, send_death: bool = True) -> None:
        """Leave: with the NDEATH published first (a clean shutdown), or as if the link broke
        (the broker then publishes the Will... only on an unclean loss, which a test makes by
        killing the socket: see :meth:`drop_link`)."""
        if send_death:
            self._publish(str(self._topic(MessageType.NDEATH)), self._death_payload(), qos=1)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def drop_link(self) -> None:
        """Lose the connection without DISCONNECT: the broker publishes the NDEATH Will."""
        sock = self._client.socket()
        if sock is not None:
            sock.close()
        self._client.loop_stop()
        self._connected.clear()

    def reconnect(self, client_id: str | None = None) -> None:
        """A new MQTT session: bdSeq + 1 (3.0.0: per new connection), births again."""
        self.bd_seq = (self.bd_seq + 1) % 256
        self._client = self._new_client(client_id or f"edge-{self.group}-{self.node}")
        self.connect()

    # ---- births and data --------------------------------------------------------------------
    def birth(self, values: dict[tuple[str | None, str], float] | None = None) -> None:
        """NBIRTH and every DBIRTH, with current values: ``values``, else the last value given
        for each metric (births and live data), else 0."""
        with self._lock:
            self.current.update(values or {})
            values = self.current
            self._seq = 0
            self.births += 1
            now = _now_ms()
            metrics = [
                MetricOut(self.bd_seq, DataType.INT64, name=BD_SEQ, timestamp_ms=now),
                MetricOut(False, DataType.BOOLEAN, name=REBIRTH_METRIC, timestamp_ms=now),
            ]
            metrics += [
                MetricOut(
                    values.get((None, m.name), 0.0),
                    m.datatype,
                    name=m.name,
                    alias=self._alias(None, m.name),
                    timestamp_ms=now,
                )
                for m in self.node_metrics
            ]
            self._send(MessageType.NBIRTH, None, metrics, seq=0)
            for device, dmetrics in self.devices.items():
                birth = [
                    MetricOut(
                        values.get((device, m.name), 0.0),
                        m.datatype,
                        name=m.name,
                        alias=self._alias(device, m.name),
                        timestamp_ms=now,
                    )
                    for m in dmetrics
                ]
                self._send(MessageType.DBIRTH, device, birth)

    def data(
        self,
        values: dict[tuple[str | None, str], float],
        *,
        timestamp_ms: int | None = None,
        historical: bool = False,
    ) -> None:
        """NDATA / DDATA by alias. While the primary host is offline the values are kept and
        sent as historical when it is back."""
        ts = timestamp_ms or _now_ms()
        with self._lock:
            if not historical:
                self.current.update(values)
            if not self._host_online:
                self._pending.values += [(d, n, ts, v) for (d, n), v in values.items()]
                return
            by_device: dict[str | None, list[MetricOut]] = {}
            for (device, name), value in values.items():
                dtype = self._datatype(device, name)
                by_device.setdefault(device, []).append(
                    MetricOut(
                        value,
                        dtype,
                        alias=self._alias(device, name),
                        timestamp_ms=ts,
                        is_historical=historical,
                    )
                )
            for device, metrics in by_device.items():
                kind = MessageType.NDATA if device is None else MessageType.DDATA
                self._send(kind, device, metrics, with_datatype=False)

    def device_death(self, device: str) -> None:
        with self._lock:
            self._send(MessageType.DDEATH, device, [])

    def replay_last(self) -> None:
        """Send the last data message again, byte for byte (a duplicate delivery)."""
        with self._lock:
            if self._last is not None:
                self._client.publish(self._last[0], self._last[1], qos=0).wait_for_publish(5)

    # ---- faults -----------------------------------------------------------------------------
    def lose_next(self, n: int = 1) -> None:
        """The next ``n`` messages take their sequence numbers and are never sent."""
        self._lose += n

    def swap_next(self) -> None:
        """The next two messages are sent in the opposite order."""
        self._swap = True

    def change_aliases(self) -> None:
        """The next birth renumbers every alias (after a reconfiguration, say)."""
        self._alias_base += 1000

    def send_stale_alias(self, device: str | None = None) -> None:
        """A data message with an alias no birth declared."""
        with self._lock:
            kind = MessageType.NDATA if device is None else MessageType.DDATA
            metric = MetricOut(1.0, DataType.DOUBLE, alias=999_999, timestamp_ms=_now_ms())
            self._send(kind, device, [metric], with_datatype=False)

    # ---- internals --------------------------------------------------------------------------
    _last: tuple[str, bytes] | None = None

    def _topic(self, kind: MessageType, device: str | None = None) -> Topic:
        return Topic(self.group, kind, self.node, device)

    def _death_payload(self) -> bytes:
        metric = MetricOut(self.bd_seq, DataType.INT64, name=BD_SEQ, timestamp_ms=_now_ms())
        return encode_payload([metric], timestamp_ms=_now_ms(), seq=None)

    def _alias(self, device: str | None, name: str) -> int:
        names: list[tuple[str | None, str]] = [(None, m.name) for m in self.node_metrics]
        names += [(d, m.name) for d, ms in self.devices.items() for m in ms]
        return self._alias_base + names.index((device, name))

    def _datatype(self, device: str | None, name: str) -> int:
        metrics = self.node_metrics if device is None else self.devices[device]
        return next(m.datatype for m in metrics if m.name == name)

    def _send(
        self,
        kind: MessageType,
        device: str | None,
        metrics: list[MetricOut],
        *,
        seq: int | None = None,
        with_datatype: bool = True,
    ) -> None:
        if seq is None:
            self._seq = (self._seq + 1) % 256
            seq = self._seq
        payload = encode_payload(
            metrics, timestamp_ms=_now_ms(), seq=seq, with_datatype=with_datatype
        )
        topic = str(self._topic(kind, device))
        if self._lose > 0:
            self._lose -= 1
            return
        if self._swap:
            self._swap = False
            self._swapped = (topic, payload)
            return
        self._publish(topic, payload)
        if kind in (MessageType.NDATA, MessageType.DDATA):
            self._last = (topic, payload)
        if self._swapped is not None:
            held, self._swapped = self._swapped, None
            self._publish(*held)

    def _publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        self._client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe(str(self._topic(MessageType.NCMD)), qos=1)
        if self.primary_host is not None:
            client.subscribe(state_topic(self.primary_host), qos=1)
        self._connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self.primary_host is not None and msg.topic == state_topic(self.primary_host):
            self._host_state(bytes(msg.payload))
            return
        try:
            payload = decode_payload(bytes(msg.payload))
        except ValueError:
            return
        if any(m.name == REBIRTH_METRIC and m.value == 1.0 for m in payload.metrics):
            self.rebirth_commands += 1
            threading.Thread(target=self.birth, daemon=True).start()  # not on paho's thread

    def _host_state(self, payload: bytes) -> None:
        try:
            online = bool(orjson.loads(payload).get("online"))
        except (orjson.JSONDecodeError, AttributeError):
            return
        with self._lock:
            was, self._host_online = self._host_online, online
        if online:
            self._host_online_event.set()
        else:
            self._host_online_event.clear()
        if online and not was:
            threading.Thread(target=self._forward, daemon=True).start()

    def _forward(self) -> None:
        """The host is back: births (current values), then what was kept, as historical."""
        with self._lock:
            pending, self._pending = self._pending.values, _Pending()
        self.birth()
        for device, name, ts, value in pending:
            self.data({(device, name): value}, timestamp_ms=ts, historical=True)


def _now_ms() -> int:
    return int(time.time() * 1000)
