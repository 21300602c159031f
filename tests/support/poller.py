"""The real field poller service with its ingest engine, polling whatever the registry holds,
run in a thread for the duration of a ``with`` block."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.pipeline.spool import Spool
from services.core.pipeline.validate import Limits
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from services.ingest.engine import EngineConfig, IngestEngine
from services.ingest.modbus.devices import device_spec
from services.ingest.modbus.leases import LeaseManager
from services.ingest.modbus.metrics import PollerMetrics
from services.ingest.modbus.poller import PollPolicy
from services.ingest.modbus.service import ModbusPollerService, Server, SpecFactory
from tests.support.services import wait_for

FAST_POLICY = PollPolicy(retries=0, offline_after=2, max_backoff_s=2)


@contextmanager
def running_poller(
    db: DatabaseSettings,
    spool_dir: Path,
    *,
    owner: str = "poller-t",
    factory: SpecFactory = device_spec,
    other_factories: Mapping[str, SpecFactory] | None = None,
    metrics: CollectorRegistry | None = None,
    policy: PollPolicy = FAST_POLICY,
    servers: Sequence[Server] = (),
) -> Iterator[ModbusPollerService]:
    engine = make_engine(db)
    ingest = IngestEngine(
        config=EngineConfig(batch_max_age_s=0.05),
        limits=Limits(),
        engine=engine,
        writer=ReadingWriter(db),
        spool=Spool(spool_dir / "spool", 1 << 30),
    )
    service = ModbusPollerService(
        engine=engine,
        leases=LeaseManager(engine, owner, ttl_s=10),
        factory=factory,
        other_factories=other_factories,
        submit=lambda m: ingest.submit("readings", m, lambda: None),
        metrics=PollerMetrics(metrics or CollectorRegistry()),
        policy=policy,
        round_s=0.5,
        servers=servers,
    )
    stop = threading.Event()
    ingest.start()
    thread = threading.Thread(target=lambda: asyncio.run(service.run(stop)), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        stop.set()
        thread.join(10)
        ingest.stop()
        engine.dispose()


def stored_readings(db: DatabaseSettings) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """Every stored reading as (value, source code), by (meter code, quantity), oldest first."""
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT m.code, p.quantity, r.value, r.source FROM readings r JOIN points p "
            "ON p.id = r.point_id JOIN meters m ON m.id = p.meter_id ORDER BY r.ts"
        ).fetchall()
    out: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for code, quantity, value, source in rows:
        out.setdefault((code, quantity), []).append((value, source))
    return out


def first_values_when_all_arrived(
    db: DatabaseSettings, expected: dict[str, dict[str, float]], timeout_s: float = 30
) -> dict[tuple[str, str], tuple[float, int]]:
    """Wait until every (meter, point) of ``expected`` has a reading; their first ones."""
    wanted = {(meter, point) for meter, points in expected.items() for point in points}
    wait_for(lambda: wanted <= set(stored_readings(db)), timeout_s, "every point of every meter")
    stored = stored_readings(db)
    return {key: stored[key][0] for key in wanted}
