"""``energymon accounting run``: the service that keeps the rollups current.

One process is active (it holds the accounting advisory lock) and runs a rollup pass every
``ENERGYMON_ACCOUNTING_INTERVAL_S``; others stand by and take over within an interval of its
death. Every process serves /metrics, /healthz and /readyz (``ready: active`` or
``ready: standby``) and reports the rollup lag.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from services.accounting.lag import LagProbe, reader
from services.accounting.metrics import AccountingMetrics
from services.accounting.rollup import CatchUpStats, catch_up
from services.accounting.runner import Runner
from services.core.db import make_engine
from services.core.leader import ACCOUNTING_ROLLUPS, LeaderLock
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.ops_http import OpsServer
from services.core.settings import AccountingSettings, CommonSettings, DatabaseSettings

log = get_logger(__name__)


def run(
    common: CommonSettings,
    db: DatabaseSettings,
    settings: AccountingSettings,
    stop: threading.Event | None = None,
) -> int:
    stop = stop or stop_on_signals(common.shutdown_timeout_s)
    engine = make_engine(db, pool_size=2)
    registry = CollectorRegistry()
    metrics = AccountingMetrics(registry)
    leader = LeaderLock(db, ACCOUNTING_ROLLUPS, name="accounting")
    probe = LagProbe(reader(engine))
    metrics.rollup_lag.set_function(probe.lag_s)
    ops = OpsServer(
        settings.metrics_host,
        settings.metrics_port,
        registry,
        lambda: leader.connected,
        role=lambda: leader.role,
    )
    ops.start()
    try:
        threading.Thread(
            target=probe.run, args=(stop, settings.interval_s), name="accounting-lag", daemon=True
        ).start()
        runner = Runner(
            engine,
            leader,
            metrics,
            probe,
            ranges_per_transaction=settings.ranges_per_transaction,
        )
        log.info(
            "accounting started",
            interval_s=settings.interval_s,
            lag_threshold_s=settings.lag_threshold_s,
            metrics_port=ops.port,
        )
        # a stop during a pass takes effect when the pass ends (the watchdog bounds a long one)
        while True:
            runner.tick()
            if stop.wait(settings.interval_s):
                break
    finally:
        leader.close()
        ops.stop()
        engine.dispose()
    log.info("accounting stopped")
    return 0


def run_once(db: DatabaseSettings, settings: AccountingSettings) -> CatchUpStats | None:
    """One pass now (``energymon accounting run --once``, ``accounting recompute``) holding the
    service's lock, so that it never rewrites buckets beside an active accounting service; None
    when another process holds the lock (that service does the work within its interval)."""
    lock = LeaderLock(db, ACCOUNTING_ROLLUPS, name="accounting-once")
    try:
        if not lock.ensure() and lock.connected:
            return None
        # not connected: the pass below meets the same database and says why it cannot
        engine = make_engine(db, pool_size=1)
        try:
            return catch_up(engine, limit=settings.ranges_per_transaction)
        finally:
            engine.dispose()
    finally:
        lock.close()


def main(*, interval_s: float | None = None) -> int:
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)
    # --every overrides ENERGYMON_ACCOUNTING_INTERVAL_S (and is validated like it)
    settings = (
        AccountingSettings() if interval_s is None else AccountingSettings(interval_s=interval_s)
    )
    return run(common, DatabaseSettings(), settings)
