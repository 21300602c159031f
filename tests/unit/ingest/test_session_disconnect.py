"""A partition session's disconnect is a warning while ingest runs, and part of the shutdown once
the process was told to stop (Ctrl-C also stops a broker started from the same terminal)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from structlog.testing import capture_logs

from services.core.settings import IngestSettings, MqttSettings
from services.ingest.mqtt.session import PartitionSession

UNSPECIFIED = ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")


def _session(stopping: threading.Event) -> PartitionSession:
    engine: Any = object()  # never reached: no message arrives in these cases
    return PartitionSession(
        0, MqttSettings(), IngestSettings(), engine, ["energymon/v1/#"], stopping=stopping
    )


@pytest.mark.parametrize(("stop_requested", "level"), [(False, "warning"), (True, "info")])
def test_a_broker_disconnect_warns_only_while_running(stop_requested: bool, level: str) -> None:
    stopping = threading.Event()
    session = _session(stopping)
    if stop_requested:
        stopping.set()
    with capture_logs() as logs:
        session._on_disconnect(session._client, None, None, UNSPECIFIED, None)
    assert [entry["log_level"] for entry in logs] == [level]
    assert session.connected is False
