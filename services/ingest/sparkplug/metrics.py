"""Prometheus metrics of the Sparkplug host. Labels are bounded: message types, causes and
reasons are closed sets; per-node series exist only for the nodes the registry binds."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.core.sparkplug.host import NodeState


class SparkplugMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "energymon_sparkplug_messages_total",
            "Sparkplug messages received, by message type.",
            ["type"],
            registry=registry,
        )
        self.undecodable = Counter(
            "energymon_sparkplug_payload_errors_total",
            "Messages on spBv1.0 edge topics whose payload is not Sparkplug B (not stored).",
            registry=registry,
        )
        self.ignored = Counter(
            "energymon_sparkplug_messages_ignored_total",
            "Messages not acted on at once: stale_death (bdSeq of an older session), "
            "before_birth (no session: a rebirth is asked), no_seq, held_for_reorder.",
            ["reason"],
            registry=registry,
        )
        self.skipped = Counter(
            "energymon_sparkplug_metrics_skipped_total",
            "Metrics that yield no reading: control (bdSeq, Node/Device Control), null, "
            "not_numeric, unknown_alias, invalid_timestamp.",
            ["reason"],
            registry=registry,
        )
        self.values = Counter(
            "energymon_sparkplug_values_total",
            "Metric values handed to the pipeline, live or historical.",
            ["historical"],
            registry=registry,
        )
        self.rebirths = Counter(
            "energymon_sparkplug_rebirth_requests_total",
            "Rebirth requests (NCMD Node Control/Rebirth) published, by cause.",
            ["cause"],
            registry=registry,
        )
        self.rebirths_suppressed = Counter(
            "energymon_sparkplug_rebirth_requests_suppressed_total",
            "Rebirth requests not sent because one went to the node too recently, by cause.",
            ["cause"],
            registry=registry,
        )
        self.node_rebirths = Counter(
            "energymon_sparkplug_node_rebirth_requests_total",
            "Rebirth requests per edge node the registry binds, by cause.",
            ["group", "node", "cause"],
            registry=registry,
        )
        self.node_online = Gauge(
            "energymon_sparkplug_node_online",
            "1 while an edge node the registry binds has a session (NBIRTH without NDEATH).",
            ["group", "node"],
            registry=registry,
        )
        self.node_births = Gauge(
            "energymon_sparkplug_node_births",
            "NBIRTHs seen from an edge node the registry binds since this host started.",
            ["group", "node"],
            registry=registry,
        )
        self.nodes = Gauge(
            "energymon_sparkplug_nodes",
            "Edge nodes seen since this host started, by state (online, offline, unborn).",
            ["state"],
            registry=registry,
        )
        self.connected = Gauge(
            "energymon_sparkplug_mqtt_connected",
            "1 while the host is connected, subscribed and its STATE says online.",
            registry=registry,
        )
        for state in NodeState:
            self.nodes.labels(state.value)
