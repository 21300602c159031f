"""A Sparkplug host running in the test process against the real broker and database, and the
queries the Sparkplug tests make."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, func, select

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.tables import dead_letters, meters, points, readings
from services.core.settings import (
    DatabaseSettings,
    IngestSettings,
    MqttSettings,
    SparkplugSettings,
)
from services.ingest.engine import IngestEngine, build_engine
from services.ingest.sparkplug.metrics import SparkplugMetrics
from services.ingest.sparkplug.service import SparkplugIngest
from tests.support.services import wait_for

ENTERPRISE = "91120111MA05K8XX3E"


def district_yaml(group: str, node: str) -> str:
    """One enterprise whose meter SP-1 is the node's own metrics (energy in Wh, power in kW) and
    whose meter SP-2 is the node's device ``meter-2``."""
    return f"""
enterprises:
  - code: {ENTERPRISE}
    name: Sparkplug Test Works
    industry: C33
    town: Zhangjiawo
    sites:
      - code: plant-1
        kind: industrial
        meters:
          - code: SP-1
            carrier: electricity
            protocol: mqtt
            points: [energy_import_kwh, power_kw]
            connection:
              sparkplug:
                group: {group}
                node: {node}
                metrics:
                  "Energy/Import": {{point: energy_import_kwh, unit: Wh}}
                  "Power": power_kw
          - code: SP-2
            carrier: electricity
            protocol: mqtt
            points: [energy_import_kwh]
            connection:
              sparkplug:
                group: {group}
                node: {node}
                device: meter-2
                metrics: {{"kWh": energy_import_kwh}}
"""


@dataclass
class HostUnderTest:
    service: SparkplugIngest
    engine: IngestEngine
    db: Engine
    registry: CollectorRegistry
    group: str
    node: str
    host_id: str

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def values(self, meter: str, point: str) -> list[tuple[datetime, float]]:
        stmt = (
            select(readings.c.ts, readings.c.value)
            .join(points, points.c.id == readings.c.point_id)
            .join(meters, meters.c.id == points.c.meter_id)
            .where(meters.c.code == meter, points.c.quantity == point)
            .order_by(readings.c.ts)
        )
        with self.db.connect() as conn:
            return [(r.ts, r.value) for r in conn.execute(stmt)]

    def dead_letter_reasons(self) -> list[str]:
        stmt = select(dead_letters.c.reason).where(dead_letters.c.topic.like(f"%/{self.group}/%"))
        with self.db.connect() as conn:
            return sorted(r.reason for r in conn.execute(stmt))

    def count_readings(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(readings)).scalar_one())

    def wait(self, predicate: object, what: str, timeout: float = 15.0) -> None:
        wait_for(predicate, timeout, what)  # type: ignore[arg-type]


@contextmanager
def running_host(
    db_settings: DatabaseSettings,
    mqtt_settings: MqttSettings,
    tmp_path: Path,
    **overrides: object,
) -> Iterator[HostUnderTest]:
    """The test's registry loaded, then an engine and a Sparkplug host with a unique host id and
    group (tests share the broker), started and online."""
    group = f"g{uuid.uuid4().hex[:8]}"
    node = "edge-1"
    db = make_engine(db_settings)
    with db.begin() as conn:
        apply_district(conn, parse_district(district_yaml(group, node)))
    registry = CollectorRegistry()
    ingest = IngestSettings(spool_dir=tmp_path / "spool", batch_max_age_ms=20)
    engine = build_engine(db_settings, ingest, registry, spool_dir=tmp_path / "spool")
    host_id = f"host-{group}"
    settings = SparkplugSettings(
        host_id=host_id,
        client_id=f"{mqtt_settings.topic_root}-sparkplug",
        **overrides,  # type: ignore[arg-type]
    )
    service = SparkplugIngest(
        mqtt_settings=mqtt_settings,
        settings=settings,
        engine=engine,
        db=db,
        metrics=SparkplugMetrics(registry),
    )
    engine.start()
    service.start()
    try:
        wait_for(lambda: service.ready and engine.ready, 15, "sparkplug host online")
        yield HostUnderTest(service, engine, db, registry, group, node, host_id)
    finally:
        service.stop()
        engine.stop()
        db.dispose()
