"""The simulated Sparkplug B edge node: `energymon simulate sparkplug` as a child process, its
metering devices bound to the district's Sparkplug meters (simulators/district/layout.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from simulators.district.layout import (
    SPARKPLUG_DEVICES,
    SPARKPLUG_GROUP,
    SPARKPLUG_INTERVAL_S,
    SPARKPLUG_NODE,
)


def spawn_edge_node(
    mqtt_url: str, *, host_id: str, seed: int, data_dir: Path
) -> subprocess.Popen[bytes]:
    """The edge node (its output in ``sparkplug.log``): it waits for ``host_id``'s STATE (its
    Primary Host) to say online, then births and publishes its devices' energy and power every
    SPARKPLUG_INTERVAL_S; SIGINT makes it publish its death and leave."""
    cmd = [
        sys.executable,
        "-m",
        "services.cli",
        "simulate",
        "sparkplug",
        "--group",
        SPARKPLUG_GROUP,
        "--node",
        SPARKPLUG_NODE,
        "--devices",
        str(SPARKPLUG_DEVICES),
        "--interval-s",
        str(SPARKPLUG_INTERVAL_S),
        "--primary-host",
        host_id,
        "--seed",
        str(seed),
    ]
    env = {**os.environ, "ENERGYMON_MQTT_URL": mqtt_url}
    with (data_dir / "sparkplug.log").open("ab") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
