"""The paho client every ingest MQTT session starts from: MQTT 5, the endpoint's credentials and
TLS, manual acknowledgement, reconnects backing off from 1 to 30 s."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from services.core.settings import MqttSettings


def new_client(mqtt_settings: MqttSettings, client_id: str) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
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
    return client
