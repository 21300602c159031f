"""Publishing simulated gateways over MQTT 5: one client per gateway, each with its Last Will.

Each client announces ``{"status": "online"}`` (retained) on connect and leaves ``offline`` as its
will and on a clean stop; readings go out at QoS 1 with a bounded in-flight window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from services.core.logging import get_logger
from services.core.settings import MqttSettings
from simulators.gateways.fleet import Fleet, GatewayMessage

log = get_logger(__name__)


def _status(status: str) -> bytes:
    return orjson.dumps({"status": status, "ts": datetime.now(UTC).isoformat()})


class GatewayClient:
    """One simulated gateway's MQTT connection."""

    def __init__(
        self, settings: MqttSettings, enterprise: str, gateway: str, client_prefix: str = "sim"
    ) -> None:
        self.settings = settings
        self.topic = settings.readings_topic(enterprise, gateway)
        self.status_topic = settings.status_topic(enterprise, gateway)
        self._connected = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{client_prefix}-{enterprise}-{gateway}",
            protocol=mqtt.MQTTv5,
        )
        client.will_set(self.status_topic, _status("offline"), qos=1, retain=True)
        ep = settings.endpoint
        if ep.username:
            client.username_pw_set(ep.username, ep.password)
        if ep.tls:
            client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        self.client = client
        self.published = 0

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.publish(self.status_topic, _status("online"), qos=1, retain=True)
        self._connected.set()

    def connect(self, timeout: float = 10) -> None:
        ep = self.settings.endpoint
        self.client.connect_async(ep.host, ep.port, keepalive=self.settings.keepalive_s)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError(f"gateway could not connect to {ep.host}:{ep.port}")

    def publish(self, payload: bytes) -> mqtt.MQTTMessageInfo:
        self.published += 1
        return self.client.publish(self.topic, payload, qos=1)

    def close(self) -> None:
        self.client.publish(
            self.status_topic, _status("offline"), qos=1, retain=True
        ).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


class FleetPublisher:
    def __init__(self, fleet: Fleet, settings: MqttSettings, client_prefix: str = "sim") -> None:
        self.clients = {
            (ent.code, gw.code): GatewayClient(settings, ent.code, gw.code, client_prefix)
            for ent in fleet.enterprises
            for gw in ent.gateways
        }

    def connect(self) -> None:
        for c in self.clients.values():
            c.connect()

    def publish(
        self, messages: Iterable[GatewayMessage], *, rate: float = 0, window: int = 500
    ) -> int:
        """Publish and wait for every PUBACK; ``rate`` caps messages per second (0 = none)."""
        pending: list[mqtt.MQTTMessageInfo] = []
        started = time.monotonic()
        n = 0
        for msg in messages:
            pending.append(self.clients[(msg.enterprise, msg.gateway)].publish(msg.payload))
            n += 1
            if len(pending) >= window:
                for info in pending:
                    info.wait_for_publish(30)
                pending.clear()
            if rate:
                ahead = n / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        for info in pending:
            info.wait_for_publish(30)
        return n

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
