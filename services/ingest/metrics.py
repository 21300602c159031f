"""Prometheus metrics of the ingest service (``energymon_ingest_*``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    """All ingest metrics on one registry (a fresh one per service instance in tests)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.messages_received = Counter(
            "energymon_ingest_messages_received_total",
            "Messages received.",
            ["source"],
            registry=registry,
        )
        self.readings_received = Counter(
            "energymon_ingest_readings_received_total",
            "Readings received in valid messages.",
            ["source"],
            registry=registry,
        )
        self.readings_written = Counter(
            "energymon_ingest_readings_written_total",
            "Readings newly stored.",
            ["source"],
            registry=registry,
        )
        self.readings_duplicate = Counter(
            "energymon_ingest_readings_duplicate_total",
            "Valid readings already stored (re-deliveries, replays).",
            ["source"],
            registry=registry,
        )
        self.reading_conflicts = Counter(
            "energymon_ingest_reading_conflicts_total",
            "Readings re-sent for a stored point and time with another value: the first value is "
            "kept, the re-send recorded in reading_conflicts (also counted as duplicates).",
            ["source"],
            registry=registry,
        )
        self.rejected = Counter(
            "energymon_ingest_rejected_total",
            "Dead-lettered items (a whole message or one reading) by reason.",
            ["source", "reason"],
            registry=registry,
        )
        self.batch_readings = Histogram(
            "energymon_ingest_batch_readings",
            "Readings per written batch.",
            buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000),
            registry=registry,
        )
        self.flush_seconds = Histogram(
            "energymon_ingest_flush_seconds",
            "Time to write one batch to the database.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.lag_seconds = Histogram(
            "energymon_ingest_lag_seconds",
            "Commit time minus reading time (sampled: up to 100 readings per batch).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600, 86400),
            registry=registry,
        )
        self.db_errors = Counter(
            "energymon_ingest_database_errors_total",
            "Failed database writes or connects.",
            registry=registry,
        )
        self.database_up = Gauge(
            "energymon_ingest_database_up",
            "1 when the last database operation succeeded.",
            registry=registry,
        )
        self.unacked = Gauge(
            "energymon_ingest_unacknowledged_messages",
            "Messages received but not yet acknowledged to the broker.",
            registry=registry,
        )
        self.spool_bytes = Gauge(
            "energymon_ingest_spool_bytes", "Bytes waiting in the local spool.", registry=registry
        )
        self.spool_segments = Gauge(
            "energymon_ingest_spool_segments",
            "Segments waiting in the local spool.",
            registry=registry,
        )
        self.spool_full = Gauge(
            "energymon_ingest_spool_full",
            "1 when the spool is at its bound (acks stop).",
            registry=registry,
        )
        self.spooled_messages = Counter(
            "energymon_ingest_spooled_messages_total",
            "Messages written to the spool.",
            registry=registry,
        )
        self.spool_corrupt = Counter(
            "energymon_ingest_spool_corrupt_segments_total",
            "Spool segments that could not be read and were set aside (*.corrupt).",
            registry=registry,
        )
        self.writer_failures = Counter(
            "energymon_ingest_writer_failures_total",
            "Writer cycles that failed unexpectedly (their messages are retried one at a time, "
            "then dead-lettered as processing_error).",
            registry=registry,
        )
        self.writer_restarts = Counter(
            "energymon_ingest_writer_restarts_total",
            "Times the writer thread died and was restarted by the supervisor.",
            registry=registry,
        )
        self.registry_meters = Gauge(
            "energymon_ingest_registry_meters",
            "Active meters in the registry snapshot.",
            registry=registry,
        )
        self.registry_reloads = Counter(
            "energymon_ingest_registry_reloads_total",
            "Registry snapshot reloads.",
            registry=registry,
        )
        self.gateway_last_seen = Gauge(
            "energymon_ingest_gateway_last_seen_timestamp_seconds",
            "When a registered gateway's last message arrived (label set bounded by the registry).",
            ["enterprise", "gateway"],
            registry=registry,
        )
        self.gateway_sequence_gaps = Gauge(
            "energymon_ingest_gateway_sequence_gaps",
            "Messages missing from a gateway's seq range (out-of-order arrivals fill them).",
            ["enterprise", "gateway"],
            registry=registry,
        )
