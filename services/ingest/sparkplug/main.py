"""``energymon ingest sparkplug``: the Sparkplug B host application, its ingest engine and ops
server in one process (docs/sparkplug.md)."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.ops_http import OpsServer
from services.core.settings import (
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    MqttSettings,
    SparkplugSettings,
    require_safe,
)
from services.ingest.engine import build_engine
from services.ingest.sparkplug.metrics import SparkplugMetrics
from services.ingest.sparkplug.service import SparkplugIngest

log = get_logger(__name__)


def run(
    common: CommonSettings,
    db: DatabaseSettings,
    mqtt: MqttSettings,
    ingest: IngestSettings,
    sparkplug: SparkplugSettings,
    *,
    stop: threading.Event | None = None,
) -> int:
    require_safe(common, mqtt)
    stop = stop or stop_on_signals(common.shutdown_timeout_s)
    registry = CollectorRegistry()
    engine = make_engine(db, pool_size=3)
    pipeline = build_engine(db, ingest, registry, spool_dir=sparkplug.spool_dir, engine=engine)
    host = SparkplugIngest(
        mqtt_settings=mqtt,
        settings=sparkplug,
        engine=pipeline,
        db=engine,
        metrics=SparkplugMetrics(registry),
        mapping_refresh_s=ingest.registry_refresh_s,
    )
    ops = OpsServer(
        sparkplug.metrics_host,
        sparkplug.metrics_port,
        registry,
        lambda: pipeline.ready and host.ready,
    )
    ops.start()
    pipeline.start()
    host.start()
    log.info(
        "sparkplug host started",
        host_id=sparkplug.host_id,
        broker=f"{mqtt.endpoint.host}:{mqtt.endpoint.port}",
        metrics=f"http://{sparkplug.metrics_host}:{ops.port}/metrics",
    )
    stop.wait()
    log.info("sparkplug host stopping")
    # Write and acknowledge what was received, then say offline and leave.
    pipeline.stop()
    host.stop()
    ops.stop()
    engine.dispose()
    log.info("sparkplug host stopped")
    return 0


def main() -> int:
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)
    return run(common, DatabaseSettings(), MqttSettings(), IngestSettings(), SparkplugSettings())
