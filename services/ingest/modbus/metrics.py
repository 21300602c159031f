"""Prometheus metrics of the device poller (``energymon_ingest_modbus_*``: it began with Modbus
meters and polls DL/T 645 meters too). The per-poll families carry ``protocol`` (``modbus``,
``dlt645``), so the two can be told apart without new names for dashboards and rules to learn."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PROTOCOLS = ("modbus", "dlt645")  # the readings' sources the poller's devices have


class PollerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter(
            "energymon_ingest_modbus_polls_total",
            "Device polls by outcome (ok / failed) and protocol.",
            ["outcome", "protocol"],
            registry=registry,
        )
        self.failures = Counter(
            "energymon_ingest_modbus_poll_failures_total",
            "Failed polls by reason and protocol.",
            ["reason", "protocol"],
            registry=registry,
        )
        self.device_failures = Counter(
            "energymon_ingest_modbus_device_failures_total",
            "Failed polls per device (label set bounded by the registry's Modbus meters).",
            ["enterprise", "meter"],
            registry=registry,
        )
        self.poll_seconds = Histogram(
            "energymon_ingest_modbus_poll_seconds",
            "Duration of one device poll, by protocol.",
            ["protocol"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.schedule_lag = Histogram(
            "energymon_ingest_modbus_schedule_lag_seconds",
            "How late a poll starts after its wall-clock slot.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.devices = Gauge(
            "energymon_ingest_modbus_devices",
            "Devices this poller holds, by state and protocol.",
            ["state", "protocol"],
            registry=registry,
        )
        self.leases = Gauge(
            "energymon_ingest_modbus_leases", "Device leases held.", registry=registry
        )
        self.live_pollers = Gauge(
            "energymon_ingest_modbus_live_pollers",
            "Pollers seen alive in the last lease round.",
            registry=registry,
        )
