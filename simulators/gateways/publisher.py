"""Publishing simulated gateways over MQTT 5: one client per gateway, as docs/mqtt.md asks.

Each client announces ``{"status": "online"}`` (retained) on connect and leaves ``offline`` as its
will and on a clean stop; readings go out at QoS 1 with a bounded in-flight window. A gateway that
follows the contract keeps what it sent: a PUBACK whose reason is not success (0x10 "no matching
subscribers" after a broker restart, 0x80+ refusals) means not delivered, so the message is sent
again later; and a ``resend`` command on its commands topic is answered from its history.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from services.core.errors import BrokerUnavailableError
from services.core.logging import get_logger
from services.core.settings import MqttSettings
from simulators.gateways.fleet import Fleet, GatewayMessage

log = get_logger(__name__)

_NO_MATCHING_SUBSCRIBERS = 16
_STATUS = b"<status>"  # marks an in-flight status message (not a reading to count or re-send)
_RETRY_AFTER_S = 1.0


def _status(status: str) -> bytes:
    return orjson.dumps({"status": status, "ts": datetime.now(UTC).isoformat()})


def _seq_of(payload: bytes) -> int | None:
    try:
        seq = orjson.loads(payload).get("seq")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return seq if type(seq) is int else None


class GatewayClient:
    """One simulated gateway's MQTT connection, with the history it re-sends from."""

    def __init__(
        self,
        settings: MqttSettings,
        enterprise: str,
        gateway: str,
        client_prefix: str = "sim",
        history: int = 100_000,
    ) -> None:
        self.settings = settings
        self.topic = settings.readings_topic(enterprise, gateway)
        self.status_topic = settings.status_topic(enterprise, gateway)
        self.commands_topic = settings.commands_topic(enterprise, gateway)
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._history: OrderedDict[int, bytes] = OrderedDict()
        self._history_size = history
        self._in_flight: dict[int, bytes] = {}  # mid -> payload, until its PUBACK
        self._early: dict[int, ReasonCode] = {}
        self._retry: list[tuple[float, bytes]] = []
        self.acknowledged: set[int] = set()  # seqs the broker accepted (PUBACK success)
        self.resent = 0
        self.refused = 0
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
        client.on_publish = self._on_publish
        client.on_message = self._on_command
        self.client = client
        self.published = 0

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.subscribe(self.commands_topic, options=SubscribeOptions(qos=1))
        self._send(_status("online"), self.status_topic, retain=True)
        self._connected.set()

    def connect(self, timeout: float = 10) -> None:
        ep = self.settings.endpoint
        self.client.connect_async(ep.host, ep.port, keepalive=self.settings.keepalive_s)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise BrokerUnavailableError(ep.host, ep.port, waited_s=timeout)

    def publish(self, payload: bytes) -> mqtt.MQTTMessageInfo:
        """Send a readings message, keeping it (by its ``seq``) for re-sending."""
        self.published += 1
        seq = _seq_of(payload)
        if seq is not None:
            with self._lock:
                self._history[seq] = payload
                while len(self._history) > self._history_size:
                    self._history.popitem(last=False)
        return self._send(payload)

    def _send(
        self, payload: bytes, topic: str | None = None, *, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        # paho calls on_publish holding its own lock, so ours is never held across publish();
        # a PUBACK that overtakes the bookkeeping waits in _early.
        info = self.client.publish(topic or self.topic, payload, qos=1, retain=retain)
        if topic is not None:
            payload = _STATUS  # settled like the others, but nothing to count or retry
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._in_flight[info.mid] = payload
        if early is not None:
            self._settle(payload, early)
        return info

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, mid: int, reason: ReasonCode, _props: Any
    ) -> None:
        with self._lock:
            payload = self._in_flight.pop(mid, None)
            if payload is None:
                self._early[mid] = reason  # a PUBACK faster than _send's bookkeeping
                return
        self._settle(payload, reason)

    def _settle(self, payload: bytes, reason: ReasonCode) -> None:
        if payload is _STATUS:
            return
        if reason.is_failure or reason.value == _NO_MATCHING_SUBSCRIBERS:
            # not delivered: keep it and send it again shortly
            self.refused += 1
            with self._lock:
                self._retry.append((time.monotonic() + _RETRY_AFTER_S, payload))
            return
        seq = _seq_of(payload)
        if seq is not None:
            self.acknowledged.add(seq)

    def _on_command(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            command = orjson.loads(msg.payload)
            if command.get("command") != "resend":
                return
            first, last = int(command["from_seq"]), int(command["to_seq"])
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            log.warning("unreadable command ignored", topic=msg.topic)
            return
        with self._lock:
            wanted = [self._history[s] for s in range(first, last + 1) if s in self._history]
        with self._lock:
            self._retry.extend((0.0, p) for p in wanted)
        self.resent += len(wanted)

    def flush_retries(self) -> int:
        """Send again what is due (refused messages, re-send requests); returns how many."""
        now = time.monotonic()
        with self._lock:
            due = [p for at, p in self._retry if at <= now]
            self._retry = [(at, p) for at, p in self._retry if at > now]
        for payload in due:
            self._send(payload)
        return len(due)

    @property
    def retries_pending(self) -> int:
        with self._lock:
            return len(self._retry)

    def close(self) -> None:
        self._send(_status("offline"), self.status_topic, retain=True).wait_for_publish(5)
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
        """Publish and wait for every PUBACK; ``rate`` caps messages per second (0 = none).
        Messages the broker did not accept, and those the platform asked for again, are sent
        again as they fall due."""
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
                self.flush_retries()
            if rate:
                ahead = n / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        for info in pending:
            info.wait_for_publish(30)
        self.flush_retries()
        return n

    def flush_retries(self) -> int:
        return sum(c.flush_retries() for c in self.clients.values())

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
