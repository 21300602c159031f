"""A plain paho MQTT 5 client for broker tests that keeps what the broker answered: the CONNACK,
each SUBACK's and PUBACK's reason codes, the messages delivered and the disconnections."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support.services import wait_for

NOT_AUTHORIZED = 0x87


class Probe:
    def __init__(
        self,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str = "",
        ca: Path | None = None,
        clean_start: bool = True,
        session_expiry_s: int = 0,
    ) -> None:
        self.port = port
        self.clean_start = clean_start
        self.session_expiry_s = session_expiry_s
        self.connacks: list[int] = []
        self.session_present: list[bool] = []
        self.messages: list[tuple[str, bytes]] = []
        self.subacks: dict[int, list[int]] = {}
        self.pubacks: dict[int, int] = {}
        self.disconnects: list[int] = []
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(1, 2)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish

    # paho callbacks (its network thread)
    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        self.connacks.append(reason.value)
        self.session_present.append(bool(flags.session_present))
        if reason.value == 0:
            self._connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        self.disconnects.append(reason.value)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[Any], _p: Any) -> None:
        self.subacks[mid] = [r.value for r in reasons]

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        self.pubacks[mid] = reason.value

    # what tests call
    def connect(self, timeout: float = 10) -> int:
        """Connect; the CONNACK's reason code (0 = accepted), or -1 if none came."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        self.client.connect("127.0.0.1", self.port, clean_start=self.clean_start, properties=props)
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.connacks:
            time.sleep(0.02)
        return self.connacks[0] if self.connacks else -1

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def subscribe(self, topic: str, qos: int = 1) -> list[int]:
        """The SUBACK's reason codes (a granted QoS, or >= 0x80 when refused)."""
        _, mid = self.client.subscribe(topic, qos=qos)
        wait_for(lambda: mid in self.subacks, 10, f"the SUBACK for {topic}")
        return self.subacks[mid]

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> int:
        """Publish at QoS 1 once connected; the PUBACK's reason code (0 or 16 = accepted, 0x87 =
        not authorised)."""
        return self.publish_many(topic, [payload], retain=retain)[0]

    def publish_many(
        self, topic: str, payloads: list[bytes] | list[str], *, retain: bool = False
    ) -> list[int]:
        wait_for(lambda: self.connected, 20, "a connection")
        mids = [self.client.publish(topic, p, qos=1, retain=retain).mid for p in payloads]
        wait_for(lambda: all(m in self.pubacks for m in mids), 60, f"PUBACKs on {topic}")
        return [self.pubacks[m] for m in mids]

    def received(self, topic: str | None = None) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.messages if topic is None or t == topic]

    def wait_received(self, count: int, topic: str | None = None, timeout: float = 60) -> None:
        wait_for(
            lambda: len(self.received(topic)) >= count, timeout, f"{count} messages on {topic}"
        )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
