"""``energymon ingest modbus``: the field poller (Modbus and DL/T 645 meters), its ingest engine
and ops server in one process."""

from __future__ import annotations

import os
import socket
import threading

from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.devices.dtu import load_models
from services.core.lifecycle import run_loop, stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.ops_http import OpsServer
from services.core.pipeline.model import InboundMessage
from services.core.settings import CommonSettings, DatabaseSettings, IngestSettings, ModbusSettings
from services.ingest.dlt645.devices import device_spec as dlt645_spec
from services.ingest.dlt645.dtu_listener import DtuListener, DtuMetrics
from services.ingest.engine import build_engine
from services.ingest.modbus.devices import device_spec
from services.ingest.modbus.leases import LeaseManager
from services.ingest.modbus.metrics import PollerMetrics
from services.ingest.modbus.poller import PollPolicy
from services.ingest.modbus.service import ModbusPollerService

log = get_logger(__name__)


def run(
    common: CommonSettings,
    db: DatabaseSettings,
    ingest: IngestSettings,
    modbus: ModbusSettings,
    stop: threading.Event | None = None,
) -> int:
    # the poller notices a stop between two rounds (ENERGYMON_MODBUS_ROUND_S)
    # a DTU model file that cannot work stops the start, naming the file and the problem
    dtu_models = (
        list(load_models(modbus.dtu_models_dir).values()) if modbus.dtu_port is not None else []
    )
    stop = stop or stop_on_signals(common.shutdown_timeout_s)
    registry = CollectorRegistry()
    engine = make_engine(db, pool_size=3)
    pipeline = build_engine(db, ingest, registry, spool_dir=modbus.spool_dir, engine=engine)
    owner = modbus.owner or f"{socket.gethostname()}-{os.getpid()}"

    def submit(message: InboundMessage) -> None:
        pipeline.submit("readings", message, lambda: None)

    dtus = None
    if modbus.dtu_port is not None:
        dtus = DtuListener(
            modbus.dtu_host,
            modbus.dtu_port,
            dtu_models,
            # only DTUs the registry names (the service's lines of the last round) are accepted
            lambda dtu_id: f"dtu:{dtu_id}" in service.line_keys,
            DtuMetrics(registry),
            registration_timeout_s=modbus.dtu_registration_timeout_s,
        )
    service = ModbusPollerService(
        engine=engine,
        leases=LeaseManager(engine, owner, modbus.lease_ttl_s),
        factory=lambda mid, ent, code, conn, points: device_spec(
            mid, ent, code, conn, points=points, maps_dir=modbus.maps_dir
        ),
        submit=submit,
        # DL/T 645 meters share the runners, leases, status and metrics (their maps may live in
        # the same directory)
        other_factories={
            "dlt645": lambda mid, ent, code, conn, points: dlt645_spec(
                mid, ent, code, conn, points=points, maps_dir=modbus.maps_dir, dtus=dtus
            )
        },
        metrics=PollerMetrics(registry),
        policy=PollPolicy(retries=modbus.retries, offline_after=modbus.offline_after),
        round_s=modbus.round_s,
        max_concurrency=modbus.max_concurrency,
        servers=[dtus] if dtus is not None else [],
    )
    ops = OpsServer(
        modbus.metrics_host,
        modbus.metrics_port,
        registry,
        lambda: pipeline.ready and service.lease_valid(),
    )
    ops.start()
    pipeline.start()
    log.info("modbus poller started", owner=owner, metrics_port=ops.port)
    run_loop(service.run(stop))
    pipeline.stop()
    ops.stop()
    engine.dispose()
    return 0


def main() -> int:
    common = CommonSettings()
    configure_logging(common.log_level, common.log_format)
    return run(common, DatabaseSettings(), IngestSettings(), ModbusSettings())
