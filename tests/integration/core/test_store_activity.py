"""The running totals `energymon demo` prints, read from what ingest stored: readings by source,
dead letters, gateways online, polled meters reporting, points still without data, and where a
site's counters stand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.core.db import make_engine
from services.core.pipeline.model import Batch, DeadLetter, Reason
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.tables import enterprises, gateways, meters, points
from services.core.settings import DatabaseSettings
from services.core.store.activity import (
    CounterSeen,
    IntakeTotals,
    intake_totals,
    points_awaiting,
    site_counters,
)
from tests.integration.conftest import ENT_A

MODBUS_ENT = "91120111MA01Q7WT3T"
# a third enterprise with two Modbus meters polled every 15 s, and an MQTT meter a Sparkplug edge
# node feeds (never awaited: it publishes no gateway backlog)
MODBUS_DISTRICT = (
    f"""
enterprises:
  - code: {MODBUS_ENT}
    name: Dasi Textiles
    industry: C17
    town: Dasi
    sites:
      - code: mill
        meters:
"""
    + "".join(
        f"""          - {{code: MB-{u}, carrier: electricity, protocol: modbus, interval_s: 15,
              connection: {{host: 127.0.0.1, port: 5020, unit_id: {u}, map: eastron-sdm630,
              interval_s: 15}}, points: [energy_import_kwh]}}
"""
        for u in (1, 2)
    )
    + """          - {code: DL-1, carrier: electricity, protocol: dlt645, interval_s: 15,
              connection: {port: 5021, address: "000000000001", interval_s: 15},
              points: [energy_import_kwh]}
"""
    + """          - {code: SP-1, carrier: electricity, protocol: mqtt, points: [energy_import_kwh],
              connection: {sparkplug: {group: mill, node: edge-1, device: meter-1,
              metrics: {"Energy/Import": energy_import_kwh}}}}
"""
)


def _point(db: DatabaseSettings, meter: str, quantity: str) -> int:
    engine = make_engine(db)
    with engine.connect() as conn:
        pid = conn.execute(
            select(points.c.id)
            .join(meters, meters.c.id == points.c.meter_id)
            .where(meters.c.code == meter, points.c.quantity == quantity)
        ).scalar_one()
    engine.dispose()
    return int(pid)


def _write(db: DatabaseSettings, batch: Batch) -> None:
    writer = ReadingWriter(db)
    try:
        writer.write(batch)
    finally:
        writer.close()


@pytest.fixture
def now() -> datetime:
    """Now, at the test's start: Modbus meters report relative to the database's clock."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def db(small_district: DatabaseSettings) -> DatabaseSettings:
    engine = make_engine(small_district)
    with engine.begin() as conn:
        apply_district(conn, parse_district(MODBUS_DISTRICT))
    engine.dispose()
    return small_district


def test_the_totals_count_readings_by_source_dead_letters_and_what_reports(
    db: DatabaseSettings, now: datetime
) -> None:
    m100 = _point(db, "M-100", "energy_import_kwh")
    mb1, mb2 = _point(db, "MB-1", "energy_import_kwh"), _point(db, "MB-2", "energy_import_kwh")
    dl1 = _point(db, "DL-1", "energy_import_kwh")
    engine = make_engine(db)
    with engine.connect() as conn:
        gw = conn.execute(
            select(gateways.c.id)
            .join(enterprises, enterprises.c.id == gateways.c.enterprise_id)
            .where(enterprises.c.code == ENT_A, gateways.c.code == "gw-01")
        ).scalar_one()
    dead = DeadLetter("mqtt", now, "t", None, None, None, Reason.INVALID_JSON, "bad", b"{", 1)
    _write(
        db,
        Batch(
            rows=[
                (m100, now - timedelta(minutes=2), 1.0, now, 1),
                (m100, now - timedelta(minutes=1), 2.0, now, 1),
                (mb1, now - timedelta(seconds=10), 5.0, now, 2),  # within three 15 s slots
                (mb2, now - timedelta(minutes=10), 5.0, now, 2),  # long silent
                (dl1, now - timedelta(seconds=20), 7.0, now, 5),  # a DL/T 645 meter, reporting
            ],
            dead_letters=[dead],
            statuses=[(gw, "online", now)],
        ),
    )
    with engine.connect() as conn:
        totals = intake_totals(conn)
    engine.dispose()
    assert totals == IntakeTotals(
        readings=5,
        mqtt_readings=2,
        modbus_readings=2,
        dlt645_readings=1,
        dead_letters=1,
        gateways_online=1,
        gateways=3,
        polled_meters_reporting=2,
        polled_meters=3,
    )


def test_points_awaiting_are_the_active_points_of_a_protocol_without_data_since(
    db: DatabaseSettings, now: datetime
) -> None:
    since = now - timedelta(minutes=5)
    _write(
        db,
        Batch(
            rows=[
                (_point(db, "M-100", "energy_import_kwh"), now, 1.0, now, 1),
                (_point(db, "B-1", "energy_import_kwh"), since - timedelta(minutes=1), 1.0, now, 1),
            ]
        ),
    )
    engine = make_engine(db)
    with engine.connect() as conn:
        # MQTT points outside dc-1: M-100's power, G-1's gas and B-1 (its reading is too old);
        # not SP-1's, which a Sparkplug edge node feeds
        assert points_awaiting(conn, protocol="mqtt", since=since, except_site="dc-1") == 3
        # and dc-1's two meters when no site is left out
        assert points_awaiting(conn, protocol="mqtt", since=since, except_site="") == 5
        assert points_awaiting(conn, protocol="modbus", since=since, except_site="") == 2
    engine.dispose()


def test_site_counters_give_each_meter_its_first_and_last_reading_and_value(
    db: DatabaseSettings, now: datetime
) -> None:
    t0 = now - timedelta(hours=1)
    rows = [
        (_point(db, meter, "energy_import_kwh"), t0 + timedelta(minutes=15 * i), value + i, now, 1)
        for meter, value in (("DC-IN-1", 100.0), ("DC-IT-1", 80.0))
        for i in range(3)
    ]
    _write(db, Batch(rows=rows))
    engine = make_engine(db)
    with engine.connect() as conn:
        seen = site_counters(conn, enterprise=ENT_A, site="dc-1", quantity="energy_import_kwh")
        elsewhere = site_counters(
            conn, enterprise=MODBUS_ENT, site="dc-1", quantity="energy_import_kwh"
        )
    engine.dispose()
    last = t0 + timedelta(minutes=30)
    assert seen == [
        CounterSeen(meter="DC-IN-1", first_at=t0, last_at=last, last_value=102.0),
        CounterSeen(meter="DC-IT-1", first_at=t0, last_at=last, last_value=82.0),
    ]
    assert elsewhere == []
