"""A plain paho publisher for tests: QoS 1, waits for every PUBACK."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from services.core.settings import MqttSettings


class Publisher:
    def __init__(self, settings: MqttSettings, client_id: str) -> None:
        self.settings = settings
        self._connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = lambda *_a: self._connected.set()
        ep = settings.endpoint
        if ep.username:
            self.client.username_pw_set(ep.username, ep.password)
        self.client.connect(ep.host, ep.port)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise TimeoutError("publisher could not connect")

    def publish(
        self, topic: str, payloads: Iterable[bytes | str], qos: int = 1, retain: bool = False
    ) -> int:
        infos = [self.client.publish(topic, p, qos=qos, retain=retain) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)
        return len(infos)

    def readings_topic(self, enterprise: str, gateway: str) -> str:
        return self.settings.readings_topic(enterprise, gateway)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
