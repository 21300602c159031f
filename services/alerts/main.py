"""``energymon alerts run``: APScheduler jobs per rule family plus a delivery job, executed only
while this process holds the evaluator lock (a standby waits and takes over).

The rules read the figures the accounting service (``energymon accounting run``) keeps current;
this service computes none of them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CollectorRegistry

from services.alerts.evaluator import (
    AlertsMetrics,
    Evaluator,
    Family,
    budget_family,
    connectivity_family,
    data_quality_family,
    ingest_family,
    intensity_family,
    production_family,
    pue_family,
    quality_family,
)
from services.alerts.notify import Router, channels_from, deliver_due, enqueue_renotify
from services.core.db import make_engine
from services.core.domain.quota import QuotaSet
from services.core.leader import ALERTS_EVALUATOR, LeaderLock
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.ops_http import OpsServer
from services.core.quotas import configured_quotas, default_quotas
from services.core.settings import (
    AlertsSettings,
    CommonSettings,
    DatabaseSettings,
    QualitySettings,
    QuotaSettings,
)

log = get_logger(__name__)


def default_families(
    settings: AlertsSettings,
    zone: ZoneInfo,
    *,
    coverage: float = 0.9,
    due_day: int = 10,
    quotas: QuotaSet | None = None,
) -> list[Family]:
    """``quotas``: the quota standards (default: the shipped ones)."""
    return [
        connectivity_family(settings),
        ingest_family(settings),
        pue_family(settings, zone, coverage=coverage),
        budget_family(settings, zone),
        quality_family(zone, min_completeness=coverage),
        data_quality_family(settings, QualitySettings(), zone, min_completeness=coverage),
        production_family(zone, due_day=due_day),
        intensity_family(settings, zone, quotas or default_quotas(), min_completeness=coverage),
    ]


def run(
    common: CommonSettings,
    db: DatabaseSettings,
    settings: AlertsSettings,
    stop: threading.Event | None = None,
) -> int:
    stop = stop or stop_on_signals(common.shutdown_timeout_s)
    engine = make_engine(db, pool_size=3)
    registry = CollectorRegistry()
    metrics = AlertsMetrics(registry)
    channels = channels_from(settings)
    router = Router(settings.routes, list(channels))
    evaluator = Evaluator(
        engine,
        settings,
        default_families(
            settings,
            common.zone,
            coverage=common.min_completeness,
            due_day=common.production_due_day,
            quotas=configured_quotas(QuotaSettings().file),
        ),
        router,
        metrics,
    )
    leader = LeaderLock(db, ALERTS_EVALUATOR, name="alerts")
    ops = OpsServer(
        settings.metrics_host,
        settings.metrics_port,
        registry,
        lambda: leader.is_leader or leader.connected,
        role=lambda: leader.role,
    )
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(settings.interval_s),
        },
    )

    def guarded(fn_name: str, fn: object) -> None:
        if not leader.ensure():
            metrics.leader.set(0)
            return
        metrics.leader.set(1)
        try:
            fn()  # type: ignore[operator]
        except Exception:  # a failing job must not kill the scheduler
            log.exception("alerts job failed", job=fn_name)

    for family in evaluator.families:
        scheduler.add_job(
            guarded,
            "interval",
            seconds=settings.interval_s,
            id=family.name,
            args=(family.name, lambda f=family: evaluator.evaluate(f)),
        )

    def deliver() -> None:
        enqueue_renotify(engine, settings.renotify_s)
        counts = deliver_due(
            engine, channels, max_attempts=settings.max_attempts, digest_s=settings.digest_s
        )
        for outcome, n in counts.items():
            metrics.notifications.labels(outcome).inc(n)

    scheduler.add_job(
        guarded,
        "interval",
        seconds=min(5.0, settings.interval_s),
        id="deliver",
        args=("deliver", deliver),
    )
    ops.start()
    scheduler.start()
    for job in scheduler.get_jobs():
        job.modify(next_run_time=datetime.now(UTC))  # evaluate at once, then every interval
    log.info(
        "alerts started",
        families=[f.name for f in evaluator.families],
        channels=list(channels),
        interval_s=settings.interval_s,
        metrics_port=ops.port,
    )
    stop.wait()
    scheduler.shutdown(wait=True)
    leader.close()
    ops.stop()
    engine.dispose()
    return 0


def main() -> int:
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)
    return run(common, DatabaseSettings(), AlertsSettings())
