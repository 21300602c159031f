"""DL/T 645 on a serial line: the simulator serves one end of a socat pseudo-terminal pair, the
line (and the poller) the other; every data identifier of the common set reads back, and every fed
point reaches the database through the poller."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from services.core.schema.tables import SOURCE_CODES
from services.core.settings import DatabaseSettings
from services.ingest.dlt645.devices import device_spec as dlt645_spec
from services.ingest.dlt645.line import Dlt645Line, Dlt645LineSettings
from simulators.meters.dlt645_server import Dlt645Server
from simulators.meters.server import running
from tests.support.dlt645 import code, common_meters, mismatches, provision, read_every_item
from tests.support.poller import first_values_when_all_arrived, running_poller
from tests.support.pty import PtyPair

Answers = dict[tuple[str, int], bytes]
ENT = "91120111MA07N9RT25"


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_every_data_identifier_reads_back_over_a_pty_line(
    pty_pair: PtyPair, run: Callable[[Coroutine[Any, Any, Answers]], Answers]
) -> None:
    """On both event loops: the poller runs on uvloop, whose pipe transports end a tty's stream
    at its first empty read."""
    meters = common_meters(2)
    server = Dlt645Server(meters, update_s=3600, serial_port=pty_pair.server_end)
    settings = Dlt645LineSettings(
        "serial", serial_port=pty_pair.poller_end, baudrate=9600, timeout_s=1.0
    )
    with running(server):
        answers = run(read_every_item(Dlt645Line(settings), meters))
    assert mismatches(answers, meters) == []


def test_every_fed_point_reaches_the_database_over_a_pty_line(
    db_settings: DatabaseSettings, pty_pair: PtyPair, tmp_path: Path
) -> None:
    meters = common_meters(2)
    server = Dlt645Server(meters, update_s=3600, serial_port=pty_pair.server_end)
    line = {
        "transport": "serial",
        "serial_port": pty_pair.poller_end,
        "baudrate": 9600,
        "parity": "E",
        "timeout_s": 0.5,
    }
    poller = running_poller(db_settings, tmp_path, other_factories={"dlt645": dlt645_spec})
    with running(server), poller:
        provision(db_settings, meters, line)
        expected = {code(m): m.expected() for m in meters}
        first = first_values_when_all_arrived(db_settings, expected)
    assert {key: value for key, (value, _s) in first.items()} == {
        (meter, point): pytest.approx(value, rel=1e-9, abs=1e-9)
        for meter, points_ in expected.items()
        for point, value in points_.items()
    }
    assert {source for _v, source in first.values()} == {SOURCE_CODES["dlt645"]}
