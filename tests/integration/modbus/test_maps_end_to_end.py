"""Every shipped map: meter simulator (pymodbus server) -> poller -> ingest -> database, every point
with the right value in the point's unit; faulty units cost only themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pymodbus.constants import ExcCodes

from services.core.db import make_engine
from services.core.devices.loader import shipped_maps
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.ingest.modbus.service import ModbusPollerService
from simulators.meters.device import SimulatedMeter
from simulators.meters.server import Fault, MeterServer, running
from tests.support.poller import first_values_when_all_arrived, running_poller
from tests.support.services import wait_for

ENT = "91120111MA07N9RT25"
MODELS = sorted(shipped_maps())


def _points(model: str) -> str:
    return ", ".join(sorted(shipped_maps()[model].fed_points()))


def _district(port: int, units: dict[int, str]) -> str:
    meters = "\n".join(
        f"          - {{code: MB-{u}, carrier: electricity, protocol: modbus, interval_s: 1, "
        f"connection: {{host: 127.0.0.1, port: {port}, unit_id: {u}, map: {model}, "
        f"interval_s: 1, timeout_s: 0.3}}, points: [{_points(model)}]}}"
        for u, model in units.items()
    )
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Dasi Textiles\n    industry: C17\n"
        f"    town: Dasi\n    sites:\n      - code: mill\n        meters:\n{meters}\n"
    )


def _stored(db: DatabaseSettings) -> dict[tuple[str, str], list[float]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT m.code, p.quantity, r.value FROM readings r JOIN points p "
            "ON p.id = r.point_id JOIN meters m ON m.id = p.meter_id "
            "ORDER BY r.ts"
        ).fetchall()
    out: dict[tuple[str, str], list[float]] = {}
    for code, q, v in rows:
        out.setdefault((code, q), []).append(v)
    return out


@pytest.fixture
def poller(db_settings: DatabaseSettings, tmp_path: Path) -> Iterator[ModbusPollerService]:
    with running_poller(db_settings, tmp_path) as service:
        yield service


def test_every_point_of_every_map_round_trips_to_the_database(
    db_settings: DatabaseSettings, poller: ModbusPollerService
) -> None:
    meters = [SimulatedMeter(i + 1, shipped_maps()[m], 20.0, seed=i) for i, m in enumerate(MODELS)]
    server = MeterServer(meters, update_s=3600)  # frozen values: exact comparison
    with running(server):
        engine = make_engine(db_settings)
        with engine.begin() as conn:
            apply_district(
                conn,
                parse_district(_district(server.port, {m.unit_id: m.device.model for m in meters})),
            )
        engine.dispose()
        expected = {f"MB-{m.unit_id}": m.expected() for m in meters}
        first = first_values_when_all_arrived(db_settings, expected)
    for meter, points in expected.items():
        for point, value in points.items():
            got = first[(meter, point)][0]
            assert got == pytest.approx(value, rel=1e-6, abs=1e-9), (meter, point)


def test_faulty_units_cost_only_themselves_and_recover(
    db_settings: DatabaseSettings, poller: ModbusPollerService
) -> None:
    model = "eastron-sdm630"
    meters = [SimulatedMeter(u, shipped_maps()[model], 20.0, seed=u) for u in (1, 2, 3, 4)]
    server = MeterServer(meters, update_s=1)
    server.faults = {3: Fault(silent=True), 4: Fault(exception=ExcCodes.DEVICE_BUSY)}
    with running(server):
        engine = make_engine(db_settings)
        with engine.begin() as conn:
            apply_district(
                conn, parse_district(_district(server.port, dict.fromkeys((1, 2, 3, 4), model)))
            )
        engine.dispose()

        def energy(code: str) -> list[float]:
            return _stored(db_settings).get((code, "energy_import_kwh"), [])

        wait_for(
            lambda: len(energy("MB-1")) >= 3 and len(energy("MB-2")) >= 3,
            20,
            "healthy units polled every second",
        )
        states = poller.states()
        assert energy("MB-3") == []
        assert energy("MB-4") == []
        wait_for(
            lambda: {poller.states()[mid].value for mid in states} >= {"offline"},
            15,
            "the faulty units to go offline",
        )
        server.faults.clear()  # both come back
        wait_for(lambda: energy("MB-3") and energy("MB-4"), 20, "recovered units' readings")
    ones = energy("MB-1")
    assert ones == sorted(ones)  # a counter read repeatedly never goes back
