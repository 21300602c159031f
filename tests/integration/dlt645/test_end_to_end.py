"""DL/T 645 meters end to end over TCP: simulator (serial server with meters behind it) -> the
field poller (the Modbus poller's runners, leases and status) -> ingest -> database, every point
of the common set with the right value; a silent meter on the shared line costs only itself."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from services.core.devices.dlt645.loader import shipped_maps
from services.core.schema.tables import SOURCE_CODES
from services.core.settings import DatabaseSettings
from services.ingest.dlt645.devices import device_spec as dlt645_spec
from services.ingest.modbus.service import ModbusPollerService
from simulators.meters.dlt645_meter import Dlt645Meter
from simulators.meters.dlt645_server import Dlt645Fault, Dlt645Server
from simulators.meters.server import running
from tests.support.dlt645 import code, common_meters, provision
from tests.support.poller import first_values_when_all_arrived, running_poller, stored_readings
from tests.support.services import wait_for

ENT = "91120111MA07N9RT25"
COMMON = shipped_maps()["dlt645-2007-common"]
POINTS = ", ".join(sorted(COMMON.fed_points()))


def _poller(db: DatabaseSettings, tmp_path: Path) -> AbstractContextManager[ModbusPollerService]:
    return running_poller(db, tmp_path, other_factories={"dlt645": dlt645_spec})


def test_every_point_of_the_common_set_reaches_the_database(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meters = common_meters(2)
    server = Dlt645Server(meters, update_s=3600)  # frozen values: exact comparison
    with running(server), _poller(db_settings, tmp_path):
        provision(db_settings, meters, {"transport": "tcp", "port": server.port, "timeout_s": 0.3})
        expected = {code(m): m.expected() for m in meters}
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
    meters = common_meters(3)
    server = Dlt645Server(meters, update_s=1)
    silent = meters[2]
    server.faults[silent.address] = Dlt645Fault(silent=True)
    with running(server), _poller(db_settings, tmp_path) as poller:
        provision(db_settings, meters, {"transport": "tcp", "port": server.port, "timeout_s": 0.3})

        def energy(meter: Dlt645Meter) -> list[float]:
            rows = stored_readings(db_settings).get((code(meter), "energy_import_kwh"), [])
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


def test_the_daily_freeze_is_stored_once_at_the_meter_s_own_midnight(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meter = common_meters(1)[0]
    server = Dlt645Server([meter], update_s=0.2)
    line = {"transport": "tcp", "port": server.port, "timeout_s": 0.3, "daily_freeze": True}
    with running(server), _poller(db_settings, tmp_path):
        provision(db_settings, [meter], line)

        def energy_times() -> list[datetime]:
            with psycopg.connect(db_settings.libpq_url) as conn:
                rows = conn.execute(
                    "SELECT r.ts FROM readings r JOIN points p ON p.id = r.point_id "
                    "WHERE p.quantity = 'energy_import_kwh' ORDER BY r.ts"
                ).fetchall()
            return [ts for (ts,) in rows]

        wait_for(lambda: len(energy_times()) >= 4, 20, "a freeze and three live readings")
    assert meter.frozen_at is not None
    times = energy_times()
    assert times.count(meter.frozen_at) == 1  # read once, resent for a while, stored once
    assert times[0] == meter.frozen_at  # local midnight, before every live reading
    stored = stored_readings(db_settings)[(code(meter), "energy_import_kwh")]
    assert stored[0][0] == pytest.approx(meter.frozen_forward[0], abs=0.005)  # XXXXXX.XX
    live = [value for value, _source in stored[1:]]
    assert live == sorted(live)
    assert live[0] >= stored[0][0]
