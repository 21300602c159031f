"""What the accounting service exports on /metrics: who is active, how fresh the figures are, how
long passes take and how much they rewrite."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AccountingMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge(
            "energymon_accounting_leader",
            "1 while this process keeps the rollups (it holds the accounting lock), else 0.",
            registry=registry,
        )
        self.rollup_lag = Gauge(
            "energymon_accounting_rollup_lag_seconds",
            "Age of the oldest range of new readings not yet rolled up (0 when none): how stale "
            "consumption, tce, PUE and budget figures may be. Every process looks once an "
            "interval; between looks it grows with the time since.",
            registry=registry,
        )
        self.last_pass = Gauge(
            "energymon_accounting_last_pass_timestamp_seconds",
            "When this process last completed a rollup pass (Unix time; 0 = never).",
            registry=registry,
        )
        self.pass_seconds = Histogram(
            "energymon_accounting_pass_seconds",
            "Duration of one rollup pass (every pending range, in transactions).",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=registry,
        )
        self.ranges = Counter(
            "energymon_accounting_ranges_total",
            "Ranges of new readings rolled up.",
            registry=registry,
        )
        self.buckets_written = Counter(
            "energymon_accounting_buckets_written_total",
            "15-minute buckets rewritten by rollup passes.",
            registry=registry,
        )
        self.pass_failures = Counter(
            "energymon_accounting_pass_failures_total",
            "Rollup passes that failed (their transaction rolled back; retried next interval).",
            registry=registry,
        )
