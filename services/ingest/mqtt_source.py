"""The MQTT source: one object owns the paho client and hands messages to the engine.

MQTT 5, QoS 1, a persistent session (clean start off, a session expiry) and a shared subscription
so that N ingest replicas split the load. Acknowledgement is manual: a PUBACK is sent only after the
engine has committed the message's readings (or fsynced it to the spool).
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from services.core.logging import get_logger
from services.core.pipeline.model import InboundMessage
from services.core.settings import IngestSettings, MqttSettings
from services.ingest.engine import IngestEngine

log = get_logger(__name__)


class MqttSource:
    def __init__(
        self, mqtt_settings: MqttSettings, ingest: IngestSettings, engine: IngestEngine
    ) -> None:
        self._settings = mqtt_settings
        self._ingest = ingest
        self._engine = engine
        self._root = mqtt_settings.topic_root
        self._connected_once = False
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=ingest.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        endpoint = mqtt_settings.endpoint
        if endpoint.username is not None:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            client.tls_set(
                ca_certs=str(mqtt_settings.ca_file) if mqtt_settings.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.subscribed = False
        self._client = client

    @property
    def readings_filter(self) -> str:
        return f"$share/{self._ingest.share_group}/{self._root}/v1/+/+/readings"

    @property
    def status_filter(self) -> str:
        return f"{self._root}/v1/+/+/status"

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

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("mqtt connect refused", reason=str(reason))
            return
        self._engine.metrics.mqtt_connected.set(1)
        log.info(
            "mqtt connected",
            session_present=bool(flags.session_present),
            client_id=self._ingest.client_id,
        )
        client.subscribe(
            [
                (self.readings_filter, SubscribeOptions(qos=1)),
                (self.status_filter, SubscribeOptions(qos=1)),
            ]
        )

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("mqtt subscription refused", reasons=failed)
            return
        self.subscribed = True

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._engine.metrics.mqtt_connected.set(0)
        self.subscribed = False
        log.warning("mqtt disconnected; paho reconnects", reason=str(reason))

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # Never let one message break the network loop.
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

            self._engine.submit("status" if kind == "status" else "readings", message, ack)
        except Exception:
            log.exception("mqtt message could not be queued", topic=getattr(msg, "topic", None))
