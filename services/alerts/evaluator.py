"""Rule families evaluated by the active process: findings -> lifecycle plan -> store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Connection, Engine

from services.alerts.notify import Router
from services.alerts.rules import (
    budget,
    connectivity,
    data_quality,
    ingest,
    intensity,
    production,
    pue,
    quality,
)
from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, plan
from services.core.alerting.store import apply, live_alert_counts, live_alerts
from services.core.domain.quota import QuotaSet
from services.core.factors import default_factors
from services.core.settings import AlertsSettings, QualitySettings

FindFn = Callable[[Connection, datetime, dict[AlertKey, LiveAlert]], list[Finding]]


@dataclass(frozen=True)
class Family:
    name: str
    rules: tuple[str, ...]
    find: FindFn


def connectivity_family(settings: AlertsSettings) -> Family:
    def find(conn: Connection, now: datetime, _live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return [
            *connectivity.silent_meters(conn, now, settings.silent_intervals),
            *connectivity.gateways_offline(conn, now),
            *connectivity.modbus_devices_offline(conn, now),
        ]

    return Family(
        "connectivity",
        (
            connectivity.SILENT_METER,
            connectivity.GATEWAY_OFFLINE,
            connectivity.MODBUS_DEVICE_OFFLINE,
        ),
        find,
    )


def ingest_family(settings: AlertsSettings) -> Family:
    def find(conn: Connection, now: datetime, _live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return [
            *ingest.sequence_gaps(conn, now, timedelta(seconds=settings.seq_gap_window_s)),
            *ingest.unowned_partitions(conn, now, timedelta(seconds=settings.ingest_unowned_s)),
            *ingest.lost_replicas(conn, now, timedelta(seconds=settings.ingest_replica_stale_s)),
        ]

    return Family(
        "ingest",
        (ingest.SEQUENCE_GAP, ingest.INGEST_PARTITION_UNOWNED, ingest.INGEST_REPLICA_LOST),
        find,
    )


def pue_family(settings: AlertsSettings, zone: ZoneInfo, *, coverage: float = 0.9) -> Family:
    """``coverage``: ENERGYMON_MIN_COMPLETENESS, below which a window's PUE is no finding."""

    def find(conn: Connection, now: datetime, live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return pue.pue_findings(
            conn, now, live, zone=zone, margin=settings.pue_margin, coverage=coverage
        )

    return Family("pue", (pue.PUE_OVER_LIMIT, pue.PUE_INSUFFICIENT_DATA), find)


def budget_family(settings: AlertsSettings, zone: ZoneInfo) -> Family:
    thresholds = tuple(float(t) for t in settings.budget_thresholds.split(",") if t.strip())

    def find(conn: Connection, now: datetime, live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return budget.budget_findings(conn, now, live, zone=zone, thresholds=thresholds)

    return Family(
        "budget",
        (budget.BUDGET_WARNING, budget.BUDGET_PROJECTED_OVERRUN, budget.BUDGET_EXCEEDED),
        find,
    )


def production_family(zone: ZoneInfo, *, due_day: int = 10) -> Family:
    """``due_day``: ENERGYMON_PRODUCTION_DUE_DAY."""

    def find(conn: Connection, now: datetime, live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return production.missing_findings(conn, now, live, zone=zone, due_day=due_day)

    return Family("production", (production.PRODUCTION_MISSING,), find)


def intensity_family(
    settings: AlertsSettings, zone: ZoneInfo, quotas: QuotaSet, *, min_completeness: float = 0.9
) -> Family:
    """``quotas``: the quota standards of ENERGYMON_QUOTAS_FILE."""

    def find(conn: Connection, now: datetime, live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return intensity.intensity_findings(
            conn,
            now,
            live,
            zone=zone,
            factors=default_factors(),
            quotas=quotas,
            threshold=min_completeness,
            rise=settings.intensity_yoy_rise,
        )

    return Family("intensity", (intensity.QUOTA_OVER_LIMIT, intensity.INTENSITY_YOY_RISE), find)


def quality_family(zone: ZoneInfo, *, min_completeness: float = 0.9) -> Family:
    def find(conn: Connection, now: datetime, live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return [
            *quality.completeness_findings(conn, now, live, zone=zone, threshold=min_completeness),
            *quality.counter_findings(conn, now, live),
        ]

    return Family(
        "quality",
        (
            quality.LOW_COMPLETENESS,
            quality.COUNTER_RESET,
            quality.COUNTER_ROLLOVER,
            quality.SPIKE_EXCLUDED,
        ),
        find,
    )


def data_quality_family(
    settings: AlertsSettings,
    quality_settings: QualitySettings,
    zone: ZoneInfo,
    *,
    min_completeness: float = 0.9,
) -> Family:
    threshold = min_completeness

    def find(conn: Connection, now: datetime, live: dict[AlertKey, LiveAlert]) -> list[Finding]:
        return [
            *data_quality.completeness_findings(conn, now, live, zone=zone, threshold=threshold),
            *data_quality.balance_findings(
                conn,
                now,
                live,
                zone=zone,
                tolerance=quality_settings.balance_tolerance,
                threshold=threshold,
            ),
            *data_quality.pue_silent_findings(conn, now, live, intervals=settings.silent_intervals),
        ]

    return Family(
        "data_quality",
        (
            data_quality.ENTERPRISE_LOW_COMPLETENESS,
            data_quality.METER_BALANCE_DEVIATION,
            data_quality.PUE_METER_SILENT,
        ),
        find,
    )


class AlertsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.open = Gauge(
            "energymon_alerts_open",
            "Live (open or acknowledged) alerts.",
            ["rule", "severity"],
            registry=registry,
        )
        self.evaluation_seconds = Histogram(
            "energymon_alerts_evaluation_seconds",
            "Time of one rule family's evaluation.",
            ["family"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.actions = Counter(
            "energymon_alerts_actions_total",
            "Lifecycle actions applied.",
            ["action"],
            registry=registry,
        )
        self.leader = Gauge(
            "energymon_alerts_leader", "1 while this process evaluates.", registry=registry
        )
        self.notifications = Counter(
            "energymon_alerts_notifications_total",
            "Delivery attempts by channel outcome.",
            ["outcome"],
            registry=registry,
        )
        self.last_success = Gauge(
            "energymon_alerts_last_evaluation_timestamp_seconds",
            "When a family last evaluated successfully.",
            ["family"],
            registry=registry,
        )


class Evaluator:
    def __init__(
        self,
        engine: Engine,
        settings: AlertsSettings,
        families: list[Family],
        router: Router,
        metrics: AlertsMetrics,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.families = families
        self.router = router
        self.metrics = metrics

    def evaluate(self, family: Family, now: datetime | None = None) -> dict[str, int]:
        now = now or datetime.now(UTC)
        started = time.perf_counter()
        with self.engine.begin() as conn:
            live = live_alerts(conn, family.rules)
            findings = family.find(conn, now, live)
            actions = plan(
                findings,
                live,
                rules=family.rules,
                now=now,
                hold=timedelta(seconds=self.settings.hold_s),
            )
            counts = apply(conn, actions, now, route=self.router)
        self.metrics.evaluation_seconds.labels(family.name).observe(time.perf_counter() - started)
        self.metrics.last_success.labels(family.name).set(time.time())
        for action, n in counts.items():
            self.metrics.actions.labels(action).inc(n)
        self.refresh_open_gauge()
        return counts

    def evaluate_all(self, now: datetime | None = None) -> dict[str, int]:
        total: dict[str, int] = {}
        for family in self.families:
            for k, v in self.evaluate(family, now).items():
                total[k] = total.get(k, 0) + v
        return total

    def refresh_open_gauge(self) -> None:
        with self.engine.connect() as conn:
            counts = live_alert_counts(conn)
        self.metrics.open.clear()
        for (rule, severity), n in counts.items():
            self.metrics.open.labels(rule, severity).set(n)
