"""One MQTT partition's broker session: one paho client, held by this replica while it has the
partition's lease.

MQTT 5, QoS 1, clean start off and a long session expiry, ordinary (non-shared) subscriptions, and
manual acknowledgement: a PUBACK is sent only after the engine has committed the message (or
fsynced it to the spool). Whatever this replica received but did not acknowledge stays in the
session, and the broker delivers it again to whoever holds the partition next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from services.core.logging import get_logger
from services.core.pipeline.model import InboundMessage
from services.core.settings import IngestSettings, MqttSettings
from services.ingest.engine import IngestEngine
from services.ingest.mqtt.client import new_client
from services.ingest.mqtt.partitions import client_id

log = get_logger(__name__)

_SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason: another connection took the client id


class PartitionSession:
    def __init__(
        self,
        partition: int,
        mqtt_settings: MqttSettings,
        ingest: IngestSettings,
        engine: IngestEngine,
        filters: Iterable[str],
        *,
        stopping: threading.Event | None = None,
    ) -> None:
        """``stopping``: the process's stop event; a disconnect after it is set is part of the
        shutdown (a Ctrl-C reaches a broker started in the same terminal too), not a fault."""
        self.partition = partition
        self._stopping = stopping
        self.origin = f"p{partition}"
        self.client_id = client_id(ingest.client_id, partition)
        self._settings = mqtt_settings
        self._ingest = ingest
        self._engine = engine
        self._root = mqtt_settings.topic_root
        self._lock = threading.Lock()
        self._wanted: frozenset[str] = frozenset(filters)
        self._granted: frozenset[str] = frozenset()
        self._pending_subs: dict[int, frozenset[str]] = {}
        self._early_subacks: dict[int, list[ReasonCode]] = {}
        self._accepting = True
        self.connected = False
        self.taken_over = False
        self.last_message_at = time.monotonic()
        self.messages = 0
        client = new_client(mqtt_settings, self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client

    # ---- lifecycle (lease thread) ---------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._ingest.session_expiry_s
        props.ReceiveMaximum = self._ingest.receive_maximum
        endpoint = self._settings.endpoint
        self._client.connect_async(
            endpoint.host,
            endpoint.port,
            keepalive=self._settings.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    @property
    def ready(self) -> bool:
        """Connected, and every wanted filter granted by the broker."""
        with self._lock:
            return self.connected and self._wanted <= self._granted

    def set_filters(self, filters: Iterable[str]) -> None:
        """Subscribe to what is newly wanted, unsubscribe from what no longer is."""
        wanted = frozenset(filters)
        with self._lock:
            added, removed = wanted - self._wanted, self._wanted - wanted
            self._wanted = wanted
            connected = self.connected
        if not connected:
            return  # the next connect subscribes to everything wanted
        if added:
            self._subscribe(added)
        if removed:
            self._client.unsubscribe(sorted(removed))
            with self._lock:
                self._granted -= removed

    def pause(self) -> None:
        """Stop handing messages to the engine; those arriving now stay unacknowledged in the
        session, for the next holder."""
        self._accepting = False

    def close(self, *, remove_session: bool = False) -> None:
        """Leave the session: normally it stays at the broker, keeping subscriptions and queuing
        for the next holder; a drained retired partition removes it (session expiry 0)."""
        self._accepting = False
        props = None
        if remove_session:
            props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 0
        self._client.disconnect(properties=props)
        self._client.loop_stop()
        self.connected = False

    def publish(self, topic: str, payload: bytes) -> None:
        """A command to a gateway, QoS 1 (the broker keeps it for a gateway that is offline only
        if the gateway's own session subscribed to its commands)."""
        self._client.publish(topic, payload, qos=1)

    # ---- paho callbacks (network thread) --------------------------------------------------------
    def _subscribe(self, filters: frozenset[str]) -> None:
        # Retained status messages only for new subscriptions: a resumed session gets none again.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        ordered = sorted(filters)
        for start in range(0, len(ordered), 100):  # keep SUBSCRIBE packets small
            chunk = ordered[start : start + 100]
            _rc, mid = self._client.subscribe([(f, options) for f in chunk])
            if mid is None:
                continue  # not connected: the next connect subscribes to everything wanted
            with self._lock:
                early = self._early_subacks.pop(mid, None)
                self._pending_subs[mid] = frozenset(chunk)
            if early is not None:  # the SUBACK overtook us (subscribe from the lease thread)
                self._record_suback(mid, early)

    def _on_connect(
        self, _client: mqtt.Client, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("mqtt connect refused", reason=str(reason), client_id=self.client_id)
            return
        with self._lock:
            self.connected = True
            self._granted = frozenset()
            wanted = self._wanted
        log.info(
            "mqtt partition connected",
            partition=self.partition,
            client_id=self.client_id,
            session_present=bool(flags.session_present),
        )
        if wanted:
            self._subscribe(wanted)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, mid: int, reasons: Any, _props: Any
    ) -> None:
        with self._lock:
            if mid not in self._pending_subs:
                self._early_subacks[mid] = list(reasons)
                return
        self._record_suback(mid, list(reasons))

    def _record_suback(self, mid: int, reasons: list[ReasonCode]) -> None:
        with self._lock:
            filters = sorted(self._pending_subs.pop(mid, frozenset()))
        granted = {f for f, r in zip(filters, reasons, strict=False) if not r.is_failure}
        refused = [(f, str(r)) for f, r in zip(filters, reasons, strict=False) if r.is_failure]
        if refused:
            log.error("mqtt subscription refused", partition=self.partition, refused=refused[:10])
        with self._lock:
            self._granted |= granted

    def _on_disconnect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        with self._lock:
            self.connected = False
            self._granted = frozenset()
        if reason.value == _SESSION_TAKEN_OVER:
            # Another replica holds the partition now (our lease expired while we could not
            # reach the database): never reconnect, or the two would take turns.
            self.taken_over = True
            self._accepting = False
            client.disconnect()  # stops paho's reconnect loop
            log.warning("mqtt partition taken over by another replica", partition=self.partition)
            return
        if self._stopping is not None and self._stopping.is_set():
            log.info("mqtt partition disconnected while stopping", partition=self.partition)
        elif self._accepting:
            log.warning(
                "mqtt partition disconnected; reconnecting",
                partition=self.partition,
                reason=str(reason),
            )

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not self._accepting:
            return  # left unacknowledged: the session keeps it for the next holder
        try:
            topic = msg.topic
            parts = topic.split("/")
            kind = parts[4] if len(parts) == 5 else "readings"
            ok = len(parts) == 5 and parts[0] == self._root and parts[1] == "v1"
            message = InboundMessage(
                source="mqtt",
                topic=topic,
                enterprise_code=parts[2] if ok else None,
                gateway_code=parts[3] if ok else None,
                payload=bytes(msg.payload),
                received_at=datetime.now(UTC),
                dup=bool(msg.dup),
            )
            mid, qos = msg.mid, msg.qos

            def ack() -> None:
                client.ack(mid, qos)

            self.last_message_at = time.monotonic()
            self.messages += 1
            self._engine.submit(
                "status" if kind == "status" else "readings", message, ack, self.origin
            )
        except Exception:
            log.exception("mqtt message could not be queued", topic=getattr(msg, "topic", None))
