"""Modbus RTU end to end, without mocks: the meter simulator serves RTU frames over TCP (as a
serial-to-Ethernet converter passes them) and on one end of a pseudo-terminal pair made by socat;
the real poller reads the other end, and the readings stored carry the values served. A serial line
carries one request at a time with the RTU silent interval between frames; a garbled answer or an
absent unit costs only that device's polls."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.devices.loader import shipped_maps
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.ingest.modbus.connection import LineSettings, Transport
from services.ingest.modbus.service import ModbusPollerService
from simulators.meters.device import SimulatedMeter
from simulators.meters.server import Exchange, Fault, MeterServer, running
from tests.support.poller import running_poller
from tests.support.pty import PtyPair
from tests.support.services import wait_for

ENT = "91120111MA07N9RT25"
MODELS = sorted(shipped_maps())
BAUDRATE = 9600
# Linux pseudo-terminals cannot carry parity (the pty driver refuses or drops PARENB), so the pty
# line runs 8N1; parity is passed to pyserial like any other setting and needs real hardware.
PARITY = "N"


@pytest.fixture
def metrics_registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def poller(
    db_settings: DatabaseSettings, tmp_path: Path, metrics_registry: CollectorRegistry
) -> Iterator[ModbusPollerService]:
    """The real poller service and ingest engine, polling whatever the registry holds."""
    with running_poller(
        db_settings, tmp_path, owner="poller-rtu", metrics=metrics_registry
    ) as service:
        yield service


def _register(
    db: DatabaseSettings, line: dict[str, Any], units: dict[int, str], timeout_s: float = 1.0
) -> None:
    """One registry meter MB-<unit> per unit on ``line``, polled every second. A generous timeout
    keeps a loaded machine from turning a healthy unit's slow answer into a failed poll."""
    meters = [
        {
            "code": f"MB-{unit}",
            "carrier": "electricity",
            "protocol": "modbus",
            "interval_s": 1,
            "connection": {
                **line,
                "unit_id": unit,
                "map": model,
                "interval_s": 1,
                "timeout_s": timeout_s,
            },
            "points": sorted(shipped_maps()[model].fed_points()),
        }
        for unit, model in units.items()
    ]
    district = {
        "enterprises": [
            {
                "code": ENT,
                "name": "Dasi Textiles",
                "industry": "C17",
                "town": "Dasi",
                "sites": [{"code": "mill", "meters": meters}],
            }
        ]
    }
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(yaml.safe_dump(district)))
    engine.dispose()


def _stored(db: DatabaseSettings) -> dict[tuple[str, str], list[float]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT m.code, p.quantity, r.value FROM readings r JOIN points p "
            "ON p.id = r.point_id JOIN meters m ON m.id = p.meter_id ORDER BY r.ts"
        ).fetchall()
    out: dict[tuple[str, str], list[float]] = {}
    for code, quantity, value in rows:
        out.setdefault((code, quantity), []).append(value)
    return out


def _status(db: DatabaseSettings) -> dict[str, tuple[str, str | None]]:
    """Per meter code: (state, last error)."""
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT m.code, s.state, s.last_error FROM device_status s "
            "JOIN meters m ON m.id = s.meter_id"
        ).fetchall()
    return {code: (state, error) for code, state, error in rows}


def _state(db: DatabaseSettings, code: str) -> str | None:
    return _status(db).get(code, (None, None))[0]


def _meters(units: dict[int, str]) -> list[SimulatedMeter]:
    return [SimulatedMeter(u, shipped_maps()[m], 20.0, seed=u) for u, m in units.items()]


def _assert_stored_as_served(db: DatabaseSettings, meters: Sequence[SimulatedMeter]) -> None:
    stored = _stored(db)
    for m in meters:
        for point, value in m.expected().items():
            values = stored[(f"MB-{m.unit_id}", point)]
            # frozen values: every poll reads the same registers
            assert values == pytest.approx([value] * len(values), rel=1e-6, abs=1e-9), (
                m.unit_id,
                point,
            )


def _assert_one_request_at_a_time(exchanges: Sequence[Exchange], silent_interval_s: float) -> None:
    """No two requests served at once, and at least the silent interval between them. The server
    serves a request after it arrived and before its answer leaves, so a gap seen here is the
    silence the poller kept plus the two frames' transit; on loopback or a pty that transit is far
    below a millisecond (a poller that skipped the interval shows gaps of about 0.5 ms)."""
    ordered = sorted(exchanges, key=lambda e: e.started_s)
    gaps = [b.started_s - a.ended_s for a, b in itertools.pairwise(ordered)]
    assert gaps, "at least two requests"
    assert min(gaps) >= silent_interval_s, (min(gaps), silent_interval_s)


def _contended(exchanges: Sequence[Exchange], units: set[int], within_s: float = 0.9) -> int:
    """How many times every one of ``units`` was served within ``within_s`` of the first: the
    devices were due together, so the line had to queue them."""
    ordered = sorted(exchanges, key=lambda e: e.started_s)
    bursts, i = 0, 0
    while i < len(ordered):
        first = ordered[i].started_s
        j = i
        while j < len(ordered) and ordered[j].started_s - first <= within_s:
            j += 1
        if {e.unit for e in ordered[i:j]} >= units:
            bursts += 1
        i = j
    return bursts


def _all_points_stored(db: DatabaseSettings, meters: Sequence[SimulatedMeter]) -> bool:
    stored = _stored(db)
    return all((f"MB-{m.unit_id}", point) in stored for m in meters for point in m.expected())


def test_rtu_over_tcp_stores_every_point_of_every_shipped_map_as_served(
    db_settings: DatabaseSettings, poller: ModbusPollerService
) -> None:
    units = {u: MODELS[(u - 1) % len(MODELS)] for u in range(1, len(MODELS) + 2)}  # one map twice
    meters = _meters(units)
    server = MeterServer(meters, update_s=3600, transport="rtu-over-tcp")  # frozen values
    with running(server):
        line = {"transport": "rtu-over-tcp", "host": "127.0.0.1", "port": server.port}
        _register(db_settings, line, units)
        wait_for(lambda: _all_points_stored(db_settings, meters), 30, "every point of every unit")
        exchanges = list(server.exchanges)
    _assert_stored_as_served(db_settings, meters)
    # the converter forwards to an RS-485 bus: the same discipline as a serial line
    settings = LineSettings(Transport.RTU_OVER_TCP, port=server.port)
    _assert_one_request_at_a_time(exchanges, settings.inter_frame_s)


def test_serial_rtu_stores_the_served_values_one_request_at_a_time_with_the_silent_interval(
    db_settings: DatabaseSettings, pty_pair: PtyPair, poller: ModbusPollerService
) -> None:
    units = {u: MODELS[(u - 1) % len(MODELS)] for u in range(1, len(MODELS) + 2)}
    meters = _meters(units)
    server = MeterServer(
        meters,
        update_s=3600,
        transport="serial",
        serial_port=pty_pair.server_end,
        baudrate=BAUDRATE,
        parity=PARITY,
    )
    with running(server):
        line = {
            "transport": "serial",
            "serial_port": pty_pair.poller_end,
            "baudrate": BAUDRATE,
            "parity": PARITY,
        }
        _register(db_settings, line, units)
        wait_for(
            lambda: (
                _all_points_stored(db_settings, meters)
                and _contended(list(server.exchanges), set(units)) >= 2
            ),
            30,
            "every point stored and two seconds in which every unit was due at once",
        )
        exchanges = list(server.exchanges)
    _assert_stored_as_served(db_settings, meters)
    silent_interval_s = LineSettings(Transport.SERIAL, baudrate=BAUDRATE).inter_frame_s
    assert silent_interval_s == pytest.approx(3.5 * 11 / BAUDRATE)  # 4.0 ms at 9600 baud
    _assert_one_request_at_a_time(exchanges, silent_interval_s)


def test_serial_rtu_bad_crc_and_absent_unit_cost_only_their_own_polls(
    db_settings: DatabaseSettings,
    pty_pair: PtyPair,
    poller: ModbusPollerService,
    metrics_registry: CollectorRegistry,
) -> None:
    model = "eastron-sdm630"
    served = _meters({1: model, 2: model})  # unit 9 is registered but not on the bus
    server = MeterServer(
        served,
        update_s=3600,
        transport="serial",
        serial_port=pty_pair.server_end,
        baudrate=BAUDRATE,
        parity=PARITY,
    )
    server.faults[2] = Fault(garbled=True)  # every answer of unit 2 fails its CRC check
    with running(server):
        line = {
            "transport": "serial",
            "serial_port": pty_pair.poller_end,
            "baudrate": BAUDRATE,
            "parity": PARITY,
        }
        _register(db_settings, line, {1: model, 2: model, 9: model}, timeout_s=0.5)

        def energy(code: str) -> list[float]:
            return _stored(db_settings).get((code, "energy_import_kwh"), [])

        wait_for(
            lambda: (
                _state(db_settings, "MB-2") == "offline"
                and _state(db_settings, "MB-9") == "offline"
                and len(energy("MB-1")) >= 3
            ),
            30,
            "the garbled and the absent unit offline while the healthy one is polled",
        )
        assert energy("MB-2") == []  # nothing fake for a garbled answer
        assert energy("MB-9") == []
        assert {e.unit for e in server.exchanges} == {1, 2}  # 2 answered (badly), 9 never
        # the poller drops an answer whose CRC fails and waits on: both are timeouts
        status = _status(db_settings)
        for code in ("MB-2", "MB-9"):
            assert str(status[code][1]).startswith("timeout:"), status[code]
        timeouts = metrics_registry.get_sample_value(
            "energymon_ingest_modbus_poll_failures_total",
            {"reason": "timeout", "protocol": "modbus"},
        )
        assert timeouts is not None
        assert timeouts >= 4  # two failed polls each before offline
        served_before = len(energy("MB-1"))
        server.faults.clear()  # the cable is fixed: unit 2 comes back by itself
        wait_for(lambda: energy("MB-2"), 20, "readings of the repaired unit")
        wait_for(lambda: len(energy("MB-1")) > served_before, 10, "the healthy unit still polled")
    _assert_stored_as_served(db_settings, served)
    assert energy("MB-9") == []
    assert _state(db_settings, "MB-9") == "offline"
