"""DL/T 645 meters behind a 4G DTU that dials in, on loopback: the simulated DTU registers with
the poller's DTU listener and bridges to simulated meters; readings reach the database; heartbeats
(also in the middle of a reply) are filtered out; a DTU that dials again replaces its connection;
an unknown DTU is refused, counted and logged; a silent DTU's meters go offline and come back."""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from services.core.devices.dtu import load_models
from services.core.settings import DatabaseSettings
from services.ingest.dlt645.devices import device_spec as dlt645_spec
from services.ingest.dlt645.dtu_listener import DtuListener, DtuMetrics
from services.ingest.modbus.poller import DeviceState
from services.ingest.modbus.service import ModbusPollerService
from simulators.meters.dlt645_dtu import SimulatedDtu
from simulators.meters.dlt645_meter import Dlt645Meter
from simulators.meters.dlt645_server import Dlt645Fault, Dlt645Server
from simulators.meters.server import running
from tests.support.dlt645 import code, common_meters, provision
from tests.support.poller import first_values_when_all_arrived, running_poller, stored_readings
from tests.support.services import wait_for

DTU_ID = "866123456789012"


@contextmanager
def dtu_poller(
    db: DatabaseSettings, tmp_path: Path, registry: CollectorRegistry
) -> Iterator[tuple[ModbusPollerService, DtuListener]]:
    """The poller with a DTU listener on a free loopback port (``listener.port`` once started)."""
    services: list[ModbusPollerService] = []
    listener = DtuListener(
        "127.0.0.1",
        0,
        list(load_models().values()),
        lambda dtu_id: bool(services) and f"dtu:{dtu_id}" in services[0].line_keys,
        DtuMetrics(registry),
        registration_timeout_s=1.0,
    )
    factory = functools.partial(dlt645_spec, dtus=listener)
    with running_poller(
        db, tmp_path, other_factories={"dlt645": factory}, metrics=registry, servers=[listener]
    ) as service:
        services.append(service)
        wait_for(lambda: listener.port != 0, 10, "the DTU listener to listen")
        yield service, listener


def _provision(
    db: DatabaseSettings, meters: list[Dlt645Meter], service: ModbusPollerService
) -> None:
    """Register ``meters`` behind the DTU and wait until the poller knows it (a DTU that dials in
    before then is refused, and dials again)."""
    provision(db, meters, {"transport": "dtu", "dtu_id": DTU_ID, "timeout_s": 0.3})
    wait_for(lambda: f"dtu:{DTU_ID}" in service.line_keys, 10, "the poller to know the DTU")


@dataclass
class Scene:
    service: ModbusPollerService
    listener: DtuListener
    line: Dlt645Server
    registry: CollectorRegistry

    def dtu(self, dtu_id: str = DTU_ID, heartbeat_s: float = 1.0) -> SimulatedDtu:
        """A simulated DTU (not yet dialling) bridging to the meters' line."""
        return SimulatedDtu(dtu_id, self.listener.port, self.line.port, heartbeat_s=heartbeat_s)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@contextmanager
def dtu_scene(
    db: DatabaseSettings, tmp_path: Path, meters: list[Dlt645Meter], update_s: float = 1.0
) -> Iterator[Scene]:
    """``meters`` on a line, registered behind the DTU; the poller with its DTU listener."""
    line = Dlt645Server(meters, update_s=update_s)
    registry = CollectorRegistry()
    with running(line), dtu_poller(db, tmp_path, registry) as (service, listener):
        _provision(db, meters, service)
        yield Scene(service, listener, line, registry)


def _energy(db: DatabaseSettings, meter: Dlt645Meter) -> int:
    return len(stored_readings(db).get((code(meter), "energy_import_kwh"), []))


@pytest.mark.parametrize("heartbeat_in_replies", [False, True])
def test_meters_behind_a_dtu_that_dials_in_reach_the_database(
    db_settings: DatabaseSettings, tmp_path: Path, heartbeat_in_replies: bool
) -> None:
    meters = common_meters(2)
    # frozen values: exact comparison
    with dtu_scene(db_settings, tmp_path, meters, update_s=3600) as scene:
        dtu = scene.dtu(heartbeat_s=0.1)
        dtu.heartbeat_in_replies = heartbeat_in_replies
        with running(dtu):
            expected = {code(m): m.expected() for m in meters}
            first = first_values_when_all_arrived(db_settings, expected)
            wait_for(
                lambda: scene.metric("energymon_ingest_dtu_heartbeats_total") >= 3,
                10,
                "heartbeats filtered out",
            )
    assert {key: value for key, (value, _source) in first.items()} == {
        (meter, point): pytest.approx(value, rel=1e-9, abs=1e-9)
        for meter, points in expected.items()
        for point, value in points.items()
    }
    garbage = {"reason": "garbage", "protocol": "dlt645"}
    assert scene.metric("energymon_ingest_modbus_poll_failures_total", **garbage) == 0
    assert scene.metric("energymon_ingest_dtu_registrations_total") == 1


def test_a_dtu_that_dials_again_replaces_its_old_connection(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meter = common_meters(1)[0]
    with dtu_scene(db_settings, tmp_path, [meter]) as scene, running(scene.dtu()) as dtu:
        wait_for(lambda: _energy(db_settings, meter) >= 2, 20, "polls through the DTU")
        dtu.redial()
        wait_for(lambda: dtu.closed_by_platform == 1, 10, "the old connection closed")
        assert scene.metric("energymon_ingest_dtu_registrations_total") == 2
        assert scene.listener.connected() == [DTU_ID]
        before = _energy(db_settings, meter)
        wait_for(
            lambda: _energy(db_settings, meter) >= before + 2,
            20,
            "polls through the new connection",
        )
    assert dtu.dials == 2


def test_an_unknown_dtu_is_refused_counted_and_logged(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    with dtu_scene(db_settings, tmp_path, common_meters(1), update_s=3600) as scene:
        stranger = scene.dtu("STRANGER-9")
        with capture_logs() as logs, running(stranger):
            wait_for(lambda: stranger.closed_by_platform >= 3, 10, "the stranger refused thrice")
        assert scene.listener.connected() == []
    refused = [e for e in logs if e["event"] == "dtu refused: not in the registry"]
    # logged loudly once with its id, the redials quietly; every refusal counted
    assert [e["log_level"] for e in refused[:3]] == ["warning", "debug", "debug"]
    assert refused[0]["dtu_id"] == "STRANGER-9"
    assert scene.metric("energymon_ingest_dtu_refused_total", reason="unknown") >= 3
    assert scene.metric("energymon_ingest_dtu_registrations_total") == 0


def test_a_packet_no_model_recognises_is_refused(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    with (
        dtu_scene(db_settings, tmp_path, common_meters(1)) as scene,
        socket.create_connection(("127.0.0.1", scene.listener.port), timeout=5) as sock,
    ):
        sock.sendall(b"HELLO\r\n")
        assert sock.recv(16) == b""  # closed after the registration timeout
    assert scene.metric("energymon_ingest_dtu_refused_total", reason="unrecognised") == 1


def _all(scene: Scene, state: DeviceState) -> bool:
    return set(scene.service.states().values()) == {state}


def test_a_silent_dtu_marks_its_meters_offline_until_it_speaks_again_or_hangs_up(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meters = common_meters(2)
    with dtu_scene(db_settings, tmp_path, meters) as scene:
        # before the DTU dials in, its meters fail as behind a dead serial server
        wait_for(lambda: _all(scene, DeviceState.OFFLINE), 20, "an absent DTU's meters offline")
        with running(scene.dtu()) as dtu:
            wait_for(lambda: _all(scene, DeviceState.ONLINE), 20, "meters online after dial-in")
            dtu.silent = True
            wait_for(lambda: _all(scene, DeviceState.OFFLINE), 20, "a silent DTU's meters offline")
            dtu.silent = False
            before = _energy(db_settings, meters[0])
            wait_for(
                lambda: _energy(db_settings, meters[0]) > before,
                20,
                "readings again once the DTU speaks",
            )
            # silence alone does not drop the connection
            assert scene.listener.connected() == [DTU_ID]
        # the DTU hung up: the next poll finds the connection closed, and it is not counted
        wait_for(lambda: scene.listener.connected() == [], 20, "the hung-up DTU disconnected")
        assert scene.metric("energymon_ingest_dtu_connected") == 0


def test_a_late_reply_on_a_dtu_line_costs_only_its_own_meter(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    meters = common_meters(3)
    slow = meters[2]
    with dtu_scene(db_settings, tmp_path, meters) as scene:
        # answers after the 0.3 s timeout: the reply reaches the next exchange on the line
        scene.line.faults[slow.address] = Dlt645Fault(delay_s=0.45)
        with running(scene.dtu()):
            wait_for(
                lambda: min(_energy(db_settings, m) for m in meters[:2]) >= 3,
                20,
                "the other meters polled",
            )
            wait_for(
                lambda: DeviceState.OFFLINE in scene.service.states().values(),
                20,
                "the slow meter offline",
            )
    assert _energy(db_settings, slow) == 0
    failed = "energymon_ingest_modbus_poll_failures_total"
    assert scene.metric(failed, reason="garbage", protocol="dlt645") == 0
    assert scene.metric(failed, reason="timeout", protocol="dlt645") >= 2  # the slow meter's
    # the DTU's connection outlived every timeout: it registered once
    assert scene.metric("energymon_ingest_dtu_registrations_total") == 1
