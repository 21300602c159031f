"""`energymon devices discover` reads the one meter's address on a line, or says in one line why
it could not; `energymon simulate dlt645-meters --write-registry` writes a registry the platform
accepts."""

from __future__ import annotations

import argparse

import pytest

from services.cli import main
from services.core.devices.dlt645.loader import shipped_maps
from services.core.registry.spec import parse_district
from simulators.meters.dlt645_cli import registry
from simulators.meters.dlt645_meter import Dlt645Meter, addresses
from simulators.meters.dlt645_server import Dlt645Server
from simulators.meters.server import running

COMMON = shipped_maps()["dlt645-2007-common"]


def _server(count: int) -> Dlt645Server:
    meters = [Dlt645Meter(a, COMMON, 20.0, seed=1) for a in addresses(count, first=7)]
    return Dlt645Server(meters, update_s=3600)


def test_discover_prints_the_address_of_the_one_meter(capsys: pytest.CaptureFixture[str]) -> None:
    server = _server(1)
    with running(server):
        code = main(["devices", "discover", "--host", "127.0.0.1", "--port", str(server.port)])
    assert code == 0
    assert capsys.readouterr().out == "000000000007\n"


def test_discover_with_two_meters_on_the_line_says_why_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = _server(2)
    with running(server):
        args = ["--host", "127.0.0.1", "--port", str(server.port), "--timeout-s", "0.3"]
        code = main(["devices", "discover", *args])
    assert code == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert "no address read (timeout" in out[0]
    assert "only one meter may be on the line" in out[0]


def test_the_simulator_registry_is_a_valid_district() -> None:
    meters = [Dlt645Meter(a, COMMON, 20.0, seed=1) for a in addresses(2)]
    args = argparse.Namespace(port=8899, interval=60, enterprise="91120111MA07N9RT25")
    district = parse_district(registry(meters, args))
    site_meters = district.enterprises[0].sites[0].meters
    assert [m.protocol for m in site_meters] == ["dlt645", "dlt645"]
    assert site_meters[0].connection is not None
    assert site_meters[0].connection["address"] == "000000000001"


def test_the_simulator_registry_behind_a_dtu_names_the_dtu() -> None:
    meters = [Dlt645Meter(a, COMMON, 20.0, seed=1) for a in addresses(2)]
    args = argparse.Namespace(
        port=8899, interval=60, enterprise="91120111MA07N9RT25", dtu_dial=9020, dtu_id="SIM-DTU-1"
    )
    district = parse_district(registry(meters, args))
    connection = district.enterprises[0].sites[0].meters[1].connection
    assert connection is not None
    assert {k: connection[k] for k in ("transport", "dtu_id", "address")} == {
        "transport": "dtu",
        "dtu_id": "SIM-DTU-1",
        "address": "000000000002",
    }


def test_a_hex_dtu_id_of_the_wrong_length_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--dtu-dial", "9020", "--dtu-model", "generic-hex", "--dtu-id", "12AB"]
    assert main(["simulate", "dlt645-meters", *args]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "energymon simulate dlt645-meters: a generic-hex DTU id is 16 hex digits: '12AB'"
    ]


def test_an_outage_longer_than_the_freezes_kept_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "dlt645-meters", "--outage-days", "32"]) == 2
    assert capsys.readouterr().out.splitlines() == [
        "energymon simulate dlt645-meters: --outage-days is 0..31"
    ]
