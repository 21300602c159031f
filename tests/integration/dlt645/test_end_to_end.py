"""DL/T 645 meters end to end over TCP: simulator (serial server with meters behind it) -> the
field poller (the Modbus poller's runners, leases and status) -> ingest -> database, every point
of the common set with the right value; a silent meter on the shared line costs only itself."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from services.core.db import make_engine
from services.core.devices.dlt645.loader import shipped_maps
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.tables import SOURCE_CODES
from services.core.settings import DatabaseSettings
from services.ingest.dlt645.devices import device_spec as dlt645_spec
from services.ingest.modbus.service import ModbusPollerService
from simulators.meters.dlt645_meter import Dlt645Meter, addresses
from simulators.meters.dlt645_server import Dlt645Fault, Dlt645Server
from simulators.meters.server import running
from tests.support.poller import first_values_when_all_arrived, running_poller, stored_readings
from tests.support.services import wait_for

ENT = "91120111MA07N9RT25"
COMMON = shipped_maps()["dlt645-2007-common"]
POINTS = ", ".join(sorted(COMMON.fed_points()))


def _district(port: int, meters: list[Dlt645Meter]) -> str:
    rows = "\n".join(
        f"          - {{code: DL-{m.address[-3:]}, carrier: electricity, protocol: dlt645, "
        f"interval_s: 1, connection: {{transport: tcp, host: 127.0.0.1, port: {port}, "
        f"address: '{m.address}', map: dlt645-2007-common, interval_s: 1, timeout_s: 0.3}}, "
        f"points: [{POINTS}]}}"
        for m in meters
    )
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Dasi Textiles\n    industry: C17\n"
        f"    town: Dasi\n    sites:\n      - code: mill\n        meters:\n{rows}\n"
    )


def _provision(db: DatabaseSettings, port: int, meters: list[Dlt645Meter]) -> None:
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(_district(port, meters)))
    engine.dispose()


def _poller(db: DatabaseSettings, tmp_path: Path) -> AbstractContextManager[ModbusPollerService]:
    return running_poller(db, tmp_path, other_factories={"dlt645": dlt645_spec})


def test_every_point_of_the_common_set_reaches_the_database(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meters = [Dlt645Meter(a, COMMON, 20.0, seed=i) for i, a in enumerate(addresses(2))]
    server = Dlt645Server(meters, update_s=3600)  # frozen values: exact comparison
    with running(server), _poller(db_settings, tmp_path):
        _provision(db_settings, server.port, meters)
        expected = {f"DL-{m.address[-3:]}": m.expected() for m in meters}
        first = first_values_when_all_arrived(db_settings, expected)
    got = {key: value for key, (value, _source) in first.items()}
    assert got == {
        (meter, point): pytest.approx(value, rel=1e-9, abs=1e-9)
        for meter, points in expected.items()
        for point, value in points.items()
    }
    assert {source for _value, source in first.values()} == {SOURCE_CODES["dlt645"]}


def test_a_silent_meter_on_the_shared_line_costs_only_itself(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meters = [Dlt645Meter(a, COMMON, 20.0, seed=i) for i, a in enumerate(addresses(3))]
    server = Dlt645Server(meters, update_s=1)
    silent = meters[2]
    server.faults[silent.address] = Dlt645Fault(silent=True)
    with running(server), _poller(db_settings, tmp_path) as poller:
        _provision(db_settings, server.port, meters)

        def energy(meter: Dlt645Meter) -> list[float]:
            code = f"DL-{meter.address[-3:]}"
            rows = stored_readings(db_settings).get((code, "energy_import_kwh"), [])
            return [v for v, _s in rows]

        wait_for(
            lambda: len(energy(meters[0])) >= 3 and len(energy(meters[1])) >= 3,
            20,
            "the healthy meters polled every second",
        )
        assert energy(silent) == []
        wait_for(
            lambda: "offline" in {s.value for s in poller.states().values()},
            15,
            "the silent meter to go offline",
        )
        server.faults.clear()
        wait_for(lambda: energy(silent), 20, "the recovered meter's readings")
    ones = energy(meters[0])
    assert ones == sorted(ones)  # a counter read repeatedly never goes back
