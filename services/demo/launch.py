"""The platform's services, each run by its own ``run`` as its subcommand would run it, in threads
of this process: MQTT ingest, the Modbus poller (Modbus and DL/T 645 meters), the Sparkplug host,
the API, accounting and alerts (the simulated Sparkplug edge node, a child process, once its host
is ready). What is started is recorded in ``Running`` so that one shutdown stops it all within a
bound."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from services.core.embedded import free_port, wait_for
from services.core.settings import (
    AccountingSettings,
    AlertsSettings,
    ApiSettings,
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    ModbusSettings,
    MqttSettings,
    SparkplugSettings,
)
from services.demo.edge_node import spawn_edge_node
from services.demo.output import say
from simulators.district.layout import District
from simulators.meters.dlt645_server import Dlt645Server
from simulators.meters.server import MeterServer, Serving, running

SPARKPLUG_HOST_ID = "energymon-demo"  # the demo's STATE topic, unless ENERGYMON_SPARKPLUG_HOST_ID
S = TypeVar("S", bound=Serving)
MODBUS_OWNER = "energymon-demo-modbus"  # a fixed lease owner: a restart takes its leases back
DEMO_ALERTS_INTERVAL_S = 20.0
DEMO_ACCOUNTING_INTERVAL_S = 5.0
DEMO_HOLD_S = 60.0  # the demo's hold time unless ENERGYMON_ALERTS_HOLD_S is set (default 600 s)
SHUTDOWN_BUDGET_S = 10.0  # the services' threads and the gateway simulator, together


@dataclass
class Running:
    """What the demo started: threads, child processes, the API server."""

    threads: list[threading.Thread] = field(default_factory=list)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)

    def thread(self, target: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def shut_down(self, within_s: float) -> None:
        """After ``stop`` is set: the API, the gateway simulator, then the threads, all within
        ``within_s`` (a thread still running then is a daemon: it ends with the process)."""
        deadline = time.monotonic() + within_s

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        for server in self.servers:
            server.should_exit = True
        for child in self.children:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(left())
            except subprocess.TimeoutExpired:
                child.kill()
        for t in self.threads:
            t.join(left())


def shutdown_budget_s(common: CommonSettings) -> float:
    """How long the services' threads and the gateway simulator get to stop: half the shutdown
    timeout, the other half being for the meter simulator and the embedded servers (the
    watchdog ends the process at the full timeout)."""
    timeout_s = common.shutdown_timeout_s
    return min(SHUTDOWN_BUDGET_S, timeout_s / 2) if timeout_s > 0 else SHUTDOWN_BUDGET_S


def bindable(port: int) -> int:
    """``port`` when a loopback server can listen on it now, else a free one."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def serve_meters(district: District, simulators: contextlib.ExitStack) -> District:
    """Serve the district's Modbus meters and its DL/T 645 meter (each in a thread, until
    ``simulators`` closes); their ports are the district's usual ones when free, so a restart
    usually finds the registry already right. Returns the district registered on the ports
    served."""
    sims = [m.sim for m in district.modbus_meters]
    modbus = _serve(
        simulators, lambda port: MeterServer(sims, port=port), usual=district.modbus_port
    )
    dlt645 = _serve(
        simulators,
        lambda port: Dlt645Server([district.dlt645], port=port),
        usual=district.dlt645_port,
    )
    return district.served_on(modbus.port, dlt645.port)


def _serve(simulators: contextlib.ExitStack, make: Callable[[int], S], *, usual: int) -> S:
    port = bindable(usual)
    try:
        return simulators.enter_context(running(make(port)))
    except RuntimeError:
        if port != usual:
            raise
        # taken between the look and the bind (another demo starting at the same moment)
        return simulators.enter_context(running(make(free_port())))


def modbus_settings(data_dir: Path) -> ModbusSettings:
    return ModbusSettings(
        owner=MODBUS_OWNER,
        round_s=1.0,  # the poller notices a stop within its round: Ctrl-C stops at once
        spool_dir=data_dir / "spool-modbus",
        metrics_port=bindable(ModbusSettings().metrics_port),
    )


def alerts_settings() -> AlertsSettings:
    """The alerts service's settings: evaluating every 20 s and resolving after 60 s clear, so
    alerts open and resolve within the demo's first minutes, unless the environment says
    otherwise."""
    configured = AlertsSettings()
    given = configured.model_fields_set
    return AlertsSettings(
        interval_s=configured.interval_s if "interval_s" in given else DEMO_ALERTS_INTERVAL_S,
        hold_s=configured.hold_s if "hold_s" in given else DEMO_HOLD_S,
    )


def start_ingest(
    started: Running,
    common: CommonSettings,
    db: DatabaseSettings,
    mqtt: MqttSettings,
    *,
    data_dir: Path,
    stop: threading.Event,
) -> None:
    """`energymon ingest mqtt`, with the demo's spool and client id."""
    from services.ingest.main import IngestConfig, run_mqtt

    ingest = IngestSettings(spool_dir=data_dir / "spool", client_id="energymon-demo-ingest")
    started.thread(run_mqtt, IngestConfig(common, db, mqtt, ingest), stop, name="demo-ingest")


def start_modbus_poller(
    started: Running,
    common: CommonSettings,
    db: DatabaseSettings,
    modbus: ModbusSettings,
    *,
    stop: threading.Event,
) -> None:
    """`energymon ingest modbus`: it polls the registry's Modbus meters and writes through its own
    ingest pipeline (readings.source = 2)."""
    from services.ingest.modbus.main import run as run_modbus

    started.thread(run_modbus, common, db, IngestSettings(), modbus, stop, name="demo-modbus")


def sparkplug_settings(data_dir: Path) -> SparkplugSettings:
    """The Sparkplug host's settings: the demo's host id, spool and a free metrics port."""
    configured = SparkplugSettings()
    given = configured.model_fields_set
    return SparkplugSettings(
        host_id=configured.host_id if "host_id" in given else SPARKPLUG_HOST_ID,
        spool_dir=data_dir / "spool-sparkplug",
        metrics_port=bindable(configured.metrics_port),
    )


def start_sparkplug_host(
    started: Running,
    common: CommonSettings,
    db: DatabaseSettings,
    mqtt: MqttSettings,
    sparkplug: SparkplugSettings,
    *,
    stop: threading.Event,
) -> None:
    """`energymon ingest sparkplug`: the Sparkplug B host application with its own pipeline."""
    from services.ingest.sparkplug.main import run as run_sparkplug

    started.thread(
        partial(run_sparkplug, stop=stop),
        common,
        db,
        mqtt,
        IngestSettings(),
        sparkplug,
        name="demo-sparkplug",
    )


def start_api(
    started: Running, common: CommonSettings, db: DatabaseSettings, api: ApiSettings
) -> None:
    """`energymon api` in one uvicorn server."""
    import uvicorn

    from services.api.app import create_app
    from services.api.context import ApiConfig

    app = create_app(ApiConfig(common, db, api, IngestSettings()))
    server = uvicorn.Server(
        uvicorn.Config(app, host=api.host, port=api.port, log_config=None, access_log=False)
    )
    started.servers.append(server)
    started.thread(server.run, name="demo-api")


def start_accounting(
    started: Running, common: CommonSettings, db: DatabaseSettings, *, stop: threading.Event
) -> None:
    """`energymon accounting run`: it keeps the rollups current (a pass every 5 s unless
    ENERGYMON_ACCOUNTING_INTERVAL_S is set)."""
    from services.accounting.main import run as run_accounting

    configured = AccountingSettings()
    settings = AccountingSettings(
        interval_s=configured.interval_s
        if "interval_s" in configured.model_fields_set
        else DEMO_ACCOUNTING_INTERVAL_S,
        metrics_port=bindable(configured.metrics_port),
    )
    started.thread(run_accounting, common, db, settings, stop, name="demo-accounting")


def start_alerts(
    started: Running,
    common: CommonSettings,
    db: DatabaseSettings,
    settings: AlertsSettings,
    *,
    stop: threading.Event,
) -> None:
    """`energymon alerts run`."""
    from services.alerts.main import run as run_alerts

    started.thread(run_alerts, common, db, settings, stop, name="demo-alerts")


def start_intake(
    started: Running,
    common: CommonSettings,
    db: DatabaseSettings,
    mqtt: MqttSettings,
    *,
    api: ApiSettings,
    modbus: ModbusSettings,
    sparkplug: SparkplugSettings,
    data_dir: Path,
    seed: int,
    stop: threading.Event,
) -> None:
    """MQTT ingest, the Modbus poller, the Sparkplug host and the API, until each answers ready
    or ``stop`` is set; then the simulated edge node, whose Primary Host is that host."""
    start_ingest(started, common, db, mqtt, data_dir=data_dir, stop=stop)
    start_modbus_poller(started, common, db, modbus, stop=stop)
    start_sparkplug_host(started, common, db, mqtt, sparkplug, stop=stop)
    start_api(started, common, db, api)
    say("starting ingest, the Modbus poller, the Sparkplug host and the API ...")
    _wait_ready(api, modbus, sparkplug, stop)
    if not stop.is_set():
        started.children.append(
            spawn_edge_node(mqtt.url, host_id=sparkplug.host_id, seed=seed, data_dir=data_dir)
        )


def _wait_ready(
    api: ApiSettings, modbus: ModbusSettings, sparkplug: SparkplugSettings, stop: threading.Event
) -> None:
    """Until ingest, the poller, the Sparkplug host and the API answer ready, or ``stop`` is
    set."""
    ready = (
        (f"http://127.0.0.1:{IngestSettings().metrics_port}/readyz", "ingest to be ready"),
        (f"http://127.0.0.1:{modbus.metrics_port}/readyz", "the Modbus poller to be ready"),
        (f"http://127.0.0.1:{sparkplug.metrics_port}/readyz", "the Sparkplug host to be ready"),
        (f"http://{api.host}:{api.port}/readyz", "the API"),
    )
    for url, what in ready:
        wait_for(partial(_answers_or_stopped, url, stop), 60, what)


def _answers_or_stopped(url: str, stop: threading.Event) -> bool:
    if stop.is_set():
        return True
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL we built
            return bool(resp.status == 200)
    except OSError:
        return False
