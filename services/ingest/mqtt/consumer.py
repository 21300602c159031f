"""MQTT ingest across replicas: lease partitions, hold their sessions, hand them over cleanly.

One thread runs a round every ``lease_round_s``: renew and claim partition leases
(services/ingest/mqtt/leases.py), open a session for each partition newly held, close the ones
lost or taken over, hand back the surplus (stop taking messages, let the engine acknowledge what it
has, leave the session, release the lease), drain retired partitions, keep each session's
subscriptions in step with the registry, and ask gateways to re-send missing messages.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.core.logging import get_logger
from services.core.settings import IngestSettings, MqttSettings
from services.ingest.engine import IngestEngine
from services.ingest.mqtt.leases import LeaseRound, PartitionLeases
from services.ingest.mqtt.partitions import partition_of, topic_filters
from services.ingest.mqtt.resend import Resender, ResendRequest
from services.ingest.mqtt.session import PartitionSession

log = get_logger(__name__)

_HANDOVER_WAIT_S = 10.0
_DRAIN_IDLE_S = 10.0
_EXPIRE_EVERY_S = 60.0


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry, partitions: int) -> None:
        self.configured = Gauge(
            "energymon_ingest_partitions",
            "MQTT partitions configured (ENERGYMON_INGEST_PARTITIONS).",
            registry=registry,
        )
        self.configured.set(partitions)
        # here, not in IngestMetrics: the Modbus poller shares the pipeline but has no MQTT
        self.connected = Gauge(
            "energymon_ingest_mqtt_connected",
            "MQTT partition sessions this replica holds that are connected.",
            registry=registry,
        )
        self.held = Gauge(
            "energymon_ingest_partitions_held",
            "MQTT partitions whose session this replica holds.",
            registry=registry,
        )
        self.takeovers = Counter(
            "energymon_ingest_partition_takeovers_total",
            "Partitions claimed after their holder's lease expired (a replica died or was cut "
            "off from the database).",
            registry=registry,
        )
        self.lease_errors = Counter(
            "energymon_ingest_lease_errors_total",
            "Lease rounds that failed (the partitions held are kept).",
            registry=registry,
        )
        self.resend_requests = Counter(
            "energymon_ingest_resend_requests_total",
            "Re-send requests published to gateways for missing messages.",
            registry=registry,
        )
        self.messages_given_up = Counter(
            "energymon_ingest_seq_messages_given_up_total",
            "Missing gateway messages (by seq) given up after the gap expiry.",
            registry=registry,
        )


class MqttConsumer:
    def __init__(
        self,
        *,
        mqtt_settings: MqttSettings,
        ingest: IngestSettings,
        engine: IngestEngine,
        leases: PartitionLeases,
        resender: Resender,
        registry: CollectorRegistry,
        stopping: threading.Event | None = None,
    ) -> None:
        self._mqtt = mqtt_settings
        self._stopping = stopping
        self._ingest = ingest
        self._engine = engine
        self._leases = leases
        self._resender = resender
        self._partitions = ingest.partitions
        self.metrics = ConsumerMetrics(registry, ingest.partitions)
        self._sessions: dict[int, PartitionSession] = {}
        self._draining: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rounds = 0
        self._lease_failing = False
        self._expired_at = 0.0

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-leases", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        """A lease round has run and every partition held is connected and subscribed."""
        sessions = list(self._sessions.values())
        return self._rounds > 0 and all(s.ready for s in sessions)

    @property
    def held(self) -> list[int]:
        return sorted(self._sessions)

    def pause(self) -> None:
        """Shutdown, step 1: take no more messages (the engine then flushes what it has)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_HANDOVER_WAIT_S + 5)
        for session in self._sessions.values():
            session.pause()

    def close(self) -> None:
        """Shutdown, step 2 (after the engine acknowledged what it had): leave every session and
        release the leases, so that another replica takes the partitions over at once."""
        held = list(self._sessions)
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()
        self.metrics.held.set(0)
        self.metrics.connected.set(0)
        try:
            self._leases.leave(held)
        except Exception as err:  # noqa: BLE001 - the leases then expire on their own
            log.warning("could not release partition leases", error=str(err), partitions=held)

    # ---- the lease thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:
                log.exception("mqtt partition round failed")
            self._stop.wait(self._ingest.lease_round_s)

    def _round(self) -> None:
        for p, session in list(self._sessions.items()):
            if session.taken_over:
                self._drop(p, "taken over by another replica")
        try:
            lease = self._leases.round(list(self._sessions))
        except Exception as err:  # noqa: BLE001 - keep consuming (and spooling) without leases
            self.metrics.lease_errors.inc()
            if not self._lease_failing:
                log.error(
                    "partition lease round failed; keeping the partitions held", error=str(err)
                )
            self._lease_failing = True
            return
        if self._lease_failing:
            log.info("partition lease rounds work again")
        self._lease_failing = False
        self._apply(lease)
        self._rounds += 1
        sessions = list(self._sessions.values())
        self.metrics.connected.set(sum(1 for s in sessions if s.connected))
        self._reconcile_filters()
        self._request_resends()
        if time.monotonic() - self._expired_at > _EXPIRE_EVERY_S:
            self._expired_at = time.monotonic()
            self.metrics.messages_given_up.inc(self._resender.expire())

    def _apply(self, lease: LeaseRound) -> None:
        for p in lease.lost:
            self._drop(p, "lease held by another replica")
        for p, previous in lease.takeovers:
            self.metrics.takeovers.inc()
            log.warning(
                "took over partition of a replica that stopped", partition=p, previous=previous
            )
        for p in sorted(lease.held - set(self._sessions)):
            self._open(p, draining=p in lease.draining)
        for p in sorted(lease.surplus):
            self._hand_over(p)
        for p in sorted(self._draining & set(self._sessions)):
            self._finish_draining(p)
        self.metrics.held.set(len(self._sessions))

    def _open(self, partition: int, *, draining: bool) -> None:
        filters = frozenset() if draining else self._filters(partition)
        session = PartitionSession(
            partition, self._mqtt, self._ingest, self._engine, filters, stopping=self._stopping
        )
        self._sessions[partition] = session
        if draining:
            self._draining.add(partition)
        session.start()
        log.info("mqtt partition held", partition=partition, draining=draining)

    def _drop(self, partition: int, why: str) -> None:
        session = self._sessions.pop(partition, None)
        self._draining.discard(partition)
        if session is not None:
            session.close()
            log.warning("mqtt partition dropped", partition=partition, reason=why)

    def _hand_over(self, partition: int) -> None:
        """Give a partition back without losing or repeating work: stop taking its messages,
        wait until the engine acknowledged those it has, leave, release."""
        session = self._sessions.pop(partition)
        session.pause()
        deadline = time.monotonic() + _HANDOVER_WAIT_S
        while self._engine.pending(session.origin) > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        session.close()
        self._leases.release([partition])
        log.info("mqtt partition handed over", partition=partition)

    def _finish_draining(self, partition: int) -> None:
        session = self._sessions[partition]
        idle = time.monotonic() - session.last_message_at
        if not session.connected or idle < _DRAIN_IDLE_S:
            return
        if self._engine.pending(session.origin) > 0:
            return
        self._sessions.pop(partition)
        self._draining.discard(partition)
        session.close(remove_session=True)
        self._leases.drained(partition)
        log.info(
            "retired mqtt partition drained and removed",
            partition=partition,
            messages=session.messages,
        )

    def _filters(self, partition: int) -> frozenset[str]:
        index = self._engine.registry_snapshot()
        enterprises = index.enterprises if index is not None else frozenset()
        return topic_filters(self._mqtt.topic_root, partition, self._partitions, enterprises)

    def _reconcile_filters(self) -> None:
        if self._partitions == 1:
            return  # wildcards: nothing depends on the registry
        for p, session in self._sessions.items():
            if p not in self._draining:
                session.set_filters(self._filters(p))

    def _request_resends(self) -> None:
        active = [p for p in self._sessions if p not in self._draining]
        try:
            due = self._resender.due(active)
            sent = self._resender.send(due, self._publish)
        except Exception as err:  # noqa: BLE001 - retried next round
            log.warning("re-send requests failed", error=str(err))
            return
        self.metrics.resend_requests.inc(sent)

    def _publish(self, req: ResendRequest, payload: bytes) -> bool:
        session = self._sessions.get(partition_of(req.enterprise, self._partitions))
        if session is None or not session.connected:
            return False
        session.publish(self._mqtt.commands_topic(req.enterprise, req.gateway), payload)
        return True
