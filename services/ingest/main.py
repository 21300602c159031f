"""Entry point of ``energymon ingest mqtt``: wire settings, engine, MQTT source and ops server."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.ops_http import OpsServer
from services.core.settings import (
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    MqttSettings,
    require_safe,
)
from services.ingest.engine import build_engine
from services.ingest.mqtt_source import MqttSource

log = get_logger(__name__)


@dataclass(frozen=True)
class IngestConfig:
    common: CommonSettings
    db: DatabaseSettings
    mqtt: MqttSettings
    ingest: IngestSettings

    @classmethod
    def from_env(cls) -> IngestConfig:
        return cls(CommonSettings(), DatabaseSettings(), MqttSettings(), IngestSettings())


def run_mqtt(cfg: IngestConfig, stop: threading.Event | None = None) -> int:
    """Run MQTT ingest until ``stop`` is set (or SIGINT/SIGTERM). Returns an exit code."""
    require_safe(cfg.common, cfg.mqtt)
    stop = stop or stop_on_signals()
    registry = CollectorRegistry()
    engine = build_engine(cfg.db, cfg.ingest, registry)
    source = MqttSource(cfg.mqtt, cfg.ingest, engine)
    ops = OpsServer(
        cfg.ingest.metrics_host,
        cfg.ingest.metrics_port,
        registry,
        lambda: engine.ready and source.subscribed,
    )
    ops.start()
    engine.start()
    source.start()
    log.info(
        "ingest mqtt started",
        broker=f"{cfg.mqtt.endpoint.host}:{cfg.mqtt.endpoint.port}",
        subscription=source.readings_filter,
        metrics=f"http://{cfg.ingest.metrics_host}:{ops.port}/metrics",
        spool=str(cfg.ingest.spool_dir),
    )
    stop.wait()
    log.info("ingest mqtt stopping")
    # Flush and acknowledge what was received while the connection is still up, then leave.
    engine.stop()
    source.stop()
    ops.stop()
    return 0


def main_mqtt() -> int:
    cfg = IngestConfig.from_env()
    configure_logging(cfg.common.log_level, cfg.common.log_format)
    return run_mqtt(cfg)
