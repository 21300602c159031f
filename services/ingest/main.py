"""Entry point of ``energymon ingest mqtt``: wire settings, engine, partitions and ops server."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass

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
    require_safe,
)
from services.ingest.engine import build_engine
from services.ingest.mqtt.consumer import MqttConsumer
from services.ingest.mqtt.leases import PartitionLeases
from services.ingest.mqtt.resend import Resender

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


def replica_name(ingest: IngestSettings) -> str:
    return ingest.replica_id or f"{socket.gethostname()}-{os.getpid()}"


def run_mqtt(cfg: IngestConfig, stop: threading.Event | None = None) -> int:
    """Run MQTT ingest until ``stop`` is set (or SIGINT/SIGTERM). Returns an exit code."""
    require_safe(cfg.common, cfg.mqtt)
    stop = stop or stop_on_signals()
    registry = CollectorRegistry()
    engine = build_engine(cfg.db, cfg.ingest, registry)
    db = make_engine(cfg.db, pool_size=2)
    replica = replica_name(cfg.ingest)
    leases = PartitionLeases(db, replica, cfg.ingest.partitions, cfg.ingest.lease_ttl_s)
    resender = Resender(
        db,
        partitions=cfg.ingest.partitions,
        after_s=cfg.ingest.resend_after_s,
        every_s=cfg.ingest.resend_every_s,
        max_requests=cfg.ingest.resend_max_requests,
        expiry_s=cfg.ingest.seq_gap_expiry_days * 86400,
    )
    consumer = MqttConsumer(
        mqtt_settings=cfg.mqtt,
        ingest=cfg.ingest,
        engine=engine,
        leases=leases,
        resender=resender,
        registry=registry,
        stopping=stop,
    )
    ops = OpsServer(
        cfg.ingest.metrics_host,
        cfg.ingest.metrics_port,
        registry,
        lambda: engine.ready and consumer.ready,
    )
    ops.start()
    engine.start()
    consumer.start()
    log.info(
        "ingest mqtt started",
        broker=f"{cfg.mqtt.endpoint.host}:{cfg.mqtt.endpoint.port}",
        replica=replica,
        partitions=cfg.ingest.partitions,
        metrics=f"http://{cfg.ingest.metrics_host}:{ops.port}/metrics",
        spool=str(cfg.ingest.spool_dir),
    )
    stop.wait()
    log.info("ingest mqtt stopping", partitions=consumer.held)
    # Take no more messages, write and acknowledge those received while the sessions are still
    # connected, then leave the sessions and release their leases for another replica.
    consumer.pause()
    engine.stop()
    consumer.close()
    ops.stop()
    db.dispose()
    log.info("ingest mqtt stopped")
    return 0


def main_mqtt() -> int:
    cfg = IngestConfig.from_env()
    configure_logging(cfg.common.log_level, cfg.common.log_format)
    return run_mqtt(cfg)
