"""The simulated gateways: `energymon simulate gateways` as a child process publishing the
district's fleet (the counters' history since the start of the previous local month, stored and
forwarded; a two-hour backlog; then each reading as it falls due), and the wait until history and
backlog are stored and rolled up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from services.core.db import make_engine
from services.core.domain.quantities import QuantityCode
from services.core.settings import DatabaseSettings, MqttSettings
from services.core.store.activity import points_awaiting, readings_between
from services.demo.launch import Running
from services.demo.output import say
from simulators.district.layout import DC_NEW, simulator_options
from simulators.gateways.fleet import Fleet

BACKLOG_S = 2 * 3600
HISTORY_INTERVAL_S = 900  # the history's cadence: the 15-minute collection period
STORED_WAIT_S = 300.0  # at most this long for history and backlog to be stored


@dataclass(frozen=True)
class Published:
    """What the gateway simulator publishes before it goes live: the history from
    ``history_from`` (``history_readings`` counter readings) until ``start``, then the backlog
    until ``last``."""

    history_from: datetime
    start: datetime
    last: datetime
    history_readings: int
    began: float  # time.monotonic() when the simulator started


def history_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Local midnight of the first day of the month before ``now``'s local month: the previous
    month is then complete, so its intensity can be judged."""
    this_month = now.astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (this_month - timedelta(days=1)).replace(day=1)


def history_readings(fleet: Fleet, since: datetime, until: datetime, interval_s: int) -> int:
    """The counter readings the history from ``since`` until ``until`` holds."""
    steps = -(-int((until - since).total_seconds()) // interval_s)
    counters = sum(
        1 for _, _, m in fleet.meters() for p in m.points if p.quantity != QuantityCode.POWER_KW
    )
    return max(0, steps) * counters


def start_gateway_simulator(
    started: Running,
    fleet: Fleet,
    *,
    zone: ZoneInfo,
    mqtt_url: str,
    mqtt: MqttSettings,
    data_dir: Path,
) -> Published:
    """The gateways publish their history since the start of the previous local month (as after
    an outage: counters only, every 15 minutes), the last two hours as a backlog, then every
    interval as it comes (their output in ``simulator.log``)."""
    config = fleet.config
    env = {
        **os.environ,
        "ENERGYMON_MQTT_URL": mqtt_url,
        "ENERGYMON_MQTT_TOPIC_ROOT": mqtt.topic_root,
    }
    steps = BACKLOG_S // config.interval_s
    now = datetime.now(UTC)
    start = now - timedelta(seconds=steps * config.interval_s)
    start -= timedelta(seconds=start.timestamp() % config.interval_s)
    since = history_start(now, zone)
    cmd = [
        sys.executable,
        "-m",
        "services.cli",
        "simulate",
        "gateways",
        *simulator_options(config),
        "--history-from",
        since.isoformat(),
        "--history-interval",
        str(HISTORY_INTERVAL_S),
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
    return Published(
        since,
        start,
        start + timedelta(seconds=(steps - 1) * config.interval_s),
        history_readings(fleet, since, start, HISTORY_INTERVAL_S),
        time.monotonic(),
    )


def wait_for_backlog(db: DatabaseSettings, published: Published, stop: threading.Event) -> None:
    """Until the history is stored and every MQTT point of the simulated fleet has its backlog
    (up to STORED_WAIT_S), then roll it up, before the accounting and alerts services start: the
    first evaluation sees every reading rather than part of them (a data centre's PUE would read
    as insufficient data, a month's intensity would be short, until the rest arrived)."""
    from services.accounting.rollup import catch_up

    since = published.history_from
    say(
        f"waiting for the gateways' history since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"({published.history_readings:,} counter readings, every {HISTORY_INTERVAL_S // 60} "
        "min, stored and forwarded) and their two-hour backlog to be stored ..."
    )
    engine = make_engine(db, pool_size=1)
    try:
        deadline = time.monotonic() + STORED_WAIT_S
        stored, missing, earlier = 0, -1, None
        while time.monotonic() < deadline and not stop.is_set():
            with engine.connect() as conn:
                # the commissioned data centre publishes only once its episode starts
                stored = readings_between(
                    conn, protocol="mqtt", since=since, until=published.start, except_site=DC_NEW
                )
                if earlier is None:
                    earlier = stored >= published.history_readings
                if stored >= published.history_readings:
                    missing = points_awaiting(
                        conn, protocol="mqtt", since=published.last, except_site=DC_NEW
                    )
            if stored >= published.history_readings and not missing:
                break
            stop.wait(1.0)
        if stop.is_set():
            return
        took = time.monotonic() - published.began
        if earlier:
            say(
                f"history: {stored:,} readings stored by an earlier run (the gateways send it "
                "again; a re-sent reading keeps its first value)"
            )
        else:
            say(f"history: {stored:,} readings stored in {took:.0f} s")
        if stored < published.history_readings:
            say(f"history incomplete ({stored:,} of {published.history_readings:,}); going on")
        elif missing:
            say(f"{missing} simulated points still without their backlog; going on anyway")
        rolled = time.monotonic()
        catch_up(engine)
        say(f"history and backlog rolled up in {time.monotonic() - rolled:.0f} s")
    finally:
        engine.dispose()
