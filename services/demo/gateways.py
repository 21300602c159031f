"""The simulated gateways: `energymon simulate gateways` as a child process publishing the
district's fleet (a two-hour backlog, then each reading as it falls due), and the wait until that
backlog is stored and rolled up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.core.db import make_engine
from services.core.settings import DatabaseSettings, MqttSettings
from services.core.store.activity import points_awaiting
from services.demo.launch import Running
from services.demo.output import say
from simulators.district.layout import DC_NEW, simulator_options
from simulators.gateways.fleet import FleetConfig

BACKLOG_S = 2 * 3600
BACKLOG_WAIT_S = 60.0


def start_gateway_simulator(
    started: Running, config: FleetConfig, *, mqtt_url: str, mqtt: MqttSettings, data_dir: Path
) -> datetime:
    """The gateways publish the last two hours as a backlog, then every interval as it comes
    (their output in ``simulator.log``). Returns the time of the backlog's last readings."""
    env = {
        **os.environ,
        "ENERGYMON_MQTT_URL": mqtt_url,
        "ENERGYMON_MQTT_TOPIC_ROOT": mqtt.topic_root,
    }
    steps = BACKLOG_S // config.interval_s
    start = datetime.now(UTC) - timedelta(seconds=steps * config.interval_s)
    start -= timedelta(seconds=start.timestamp() % config.interval_s)
    cmd = [
        sys.executable,
        "-m",
        "services.cli",
        "simulate",
        "gateways",
        *simulator_options(config),
        "--start",
        start.isoformat(),
        "--steps",
        str(steps),
        "--realtime",
    ]
    with (data_dir / "simulator.log").open("ab") as log:
        started.children.append(
            subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
    return start + timedelta(seconds=(steps - 1) * config.interval_s)


def wait_for_backlog(db: DatabaseSettings, last: datetime, stop: threading.Event) -> None:
    """Until every MQTT point of the simulated fleet has its backlog stored (up to a minute), then
    roll it up, before the accounting and alerts services start: the first evaluation sees the
    whole backlog rather than part of it (a data centre's PUE would read as insufficient data
    until the rest arrived)."""
    from services.accounting.rollup import catch_up

    say("waiting for the gateways' two-hour backlog to be stored ...")
    engine = make_engine(db, pool_size=1)
    try:
        deadline = time.monotonic() + BACKLOG_WAIT_S
        missing = -1
        while missing and time.monotonic() < deadline and not stop.is_set():
            with engine.connect() as conn:
                # the commissioned data centre publishes only once its episode starts
                missing = points_awaiting(conn, protocol="mqtt", since=last, except_site=DC_NEW)
            if missing:
                stop.wait(0.5)
        if stop.is_set():
            return
        if missing:
            say(f"{missing} simulated points still without their backlog; going on anyway")
        catch_up(engine)
    finally:
        engine.dispose()
