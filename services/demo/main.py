"""``energymon demo``: start what is needed, provision the simulated district, run the services,
play the episodes, and report until Ctrl-C (see the package's docstring)."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from services.core.db import make_engine
from services.core.embedded import Embedded
from services.core.env_file import write_env_file
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging
from services.core.settings import (
    AlertsSettings,
    ApiSettings,
    CommonSettings,
    DatabaseSettings,
    DemoSettings,
    IngestSettings,
    ModbusSettings,
    MqttSettings,
    SparkplugSettings,
)
from services.demo import launch
from services.demo.backends import Backends, resolve_backends
from services.demo.episodes import Episodes
from services.demo.gateways import history_start, start_gateway_simulator, wait_for_backlog
from services.demo.output import say
from services.demo.production import DUE_DAY, Statistics, submit_on_time
from services.demo.provisioning import DEMO_OFFICER, provision
from services.demo.watch import AlertWatch, Status
from simulators.district.episodes import budget_revision, commissioning, late_figures
from simulators.district.layout import District

TICK_S = 5.0


def run_demo(args: argparse.Namespace) -> int:
    common = _common_settings()
    configure_logging("WARNING", "console")
    if common.env == "production":
        say("refused: the demo prints a demo password and is for development only")
        return 2
    delay_s = DemoSettings().episode_delay_s
    data_dir = _data_dir(Path(args.data_dir), reset=args.reset)
    stop = stop_on_signals(common.shutdown_timeout_s)
    embedded = Embedded()
    started = launch.Running()
    simulators = contextlib.ExitStack()
    engine: Engine | None = None
    try:
        say("starting: resolving PostgreSQL and MQTT ...")
        backends = resolve_backends(data_dir.resolve(), embedded, force_embedded=args.embedded)
        say(f"database: {backends.db_origin}")
        say(f"broker:   {backends.mqtt_origin}")
        _write_env(data_dir / "env", backends, due_day=common.production_due_day)
        db = DatabaseSettings(url=backends.db_url)
        mqtt = MqttSettings(url=backends.mqtt_url, topic_root=MqttSettings().topic_root)
        district, stats = _district(args.seed, common)
        district = launch.serve_meters(district, simulators)
        dc, revision = commissioning(district), budget_revision(district)
        path = data_dir / "district.yaml"
        engine = make_engine(db, pool_size=1)
        history = provision(
            engine, db, district=district, path=path, revision=revision, commissioning=dc
        )
        api, modbus = ApiSettings(), launch.modbus_settings(data_dir)
        sparkplug = launch.sparkplug_settings(data_dir)
        launch.start_intake(
            started,
            common,
            db,
            mqtt,
            api=api,
            modbus=modbus,
            sparkplug=sparkplug,
            data_dir=data_dir,
            seed=args.seed,
            stop=stop,
        )
        if stop.is_set():  # stopped while starting: the finally block stops what did start
            return 0
        published = start_gateway_simulator(
            started,
            district.fleet,
            zone=common.zone,
            mqtt_url=backends.mqtt_url,
            mqtt=mqtt,
            data_dir=data_dir,
        )
        wait_for_backlog(db, published, stop)
        if stop.is_set():
            return 0
        submit_on_time(engine, stats, due_day=common.production_due_day)
        launch.start_accounting(started, common, db, stop=stop)
        alerts = launch.alerts_settings()
        watch = AlertWatch(datetime.now(UTC), alerts.hold_s)  # before the first evaluation
        launch.start_alerts(started, common, db, alerts, stop=stop)
        episodes = Episodes(
            commissioning=dc,
            revision=revision,
            late=late_figures(district, stats.month),
            statistics=stats,
            district=district,
            path=path,
            history=history,
            delay_s=delay_s,
            engine=engine,
            mqtt=mqtt,
            started=started,
            stop=stop,
        )
        _announce(api, modbus, sparkplug, alerts, episodes)
        say("ready")  # the last line of the banner: whoever waits for it has every address above
        _progress(engine, stop, args.seconds, started=started, watch=watch, episodes=episodes)
    finally:
        stop.set()
        started.shut_down(launch.shutdown_budget_s(common))
        simulators.close()  # the Modbus meters, once their poller has stopped
        if engine is not None:
            engine.dispose()
        embedded.close()
        say("stopped")
    return 0


def _district(seed: int, common: CommonSettings) -> tuple[District, Statistics]:
    """The simulated district with the gateways' history (from the first day of the previous
    local month) in mind, and the figures the enterprises owe for that month."""
    now = datetime.now(UTC)
    since = history_start(now, common.zone)
    district = District.build(
        seed=seed,
        budget_year=now.astimezone(common.zone).year,
        history_from=since,
        now=now,
        zone=common.zone,
    )
    month = since.astimezone(common.zone).date()
    return district, Statistics(district.fleet, month, common.zone, common.min_completeness)


def _common_settings() -> CommonSettings:
    """The environment's, with last month's figures due by the 1st unless
    ENERGYMON_PRODUCTION_DUE_DAY says otherwise (the simulated statistics office's day)."""
    configured = CommonSettings()
    if "production_due_day" in configured.model_fields_set:
        return configured
    return configured.model_copy(update={"production_due_day": DUE_DAY})


def _write_env(path: Path, backends: Backends, *, due_day: int) -> None:
    """Where the demo's services are, for the CLI in another terminal (the embedded ones listen
    on ports of their own, not the command's defaults)."""
    write_env_file(
        path,
        {
            "ENERGYMON_DATABASE_URL": backends.db_url,
            "ENERGYMON_MQTT_URL": backends.mqtt_url,
            "ENERGYMON_PRODUCTION_DUE_DAY": str(due_day),
        },
    )
    say(f"CLI:      source {path}  (points energymon commands at this demo's database and broker)")


def _data_dir(data_dir: Path, *, reset: bool) -> Path:
    if reset and data_dir.exists():
        shutil.rmtree(data_dir)
        say(f"wiped {data_dir}")
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


def _announce(
    api: ApiSettings,
    modbus: ModbusSettings,
    sparkplug: SparkplugSettings,
    alerts: AlertsSettings,
    episodes: Episodes,
) -> None:
    say(
        f"console:    http://{api.host}:{api.port}/console/  (login {DEMO_OFFICER[0]} / "
        f"{DEMO_OFFICER[1]}, development only)"
    )
    say(f"API docs:   http://{api.host}:{api.port}/docs  (the same login)")
    say(
        f"metrics:    http://{api.host}:{api.port}/metrics, "
        f"http://127.0.0.1:{IngestSettings().metrics_port}/metrics (MQTT ingest), "
        f"http://127.0.0.1:{modbus.metrics_port}/metrics (Modbus and DL/T 645 poller) and "
        f"http://127.0.0.1:{sparkplug.metrics_port}/metrics (Sparkplug host)"
    )
    say("Ctrl-C stops everything; the data stays for the next run (--reset wipes it)")
    episodes.announce(alerts)


def _progress(
    engine: Engine,
    stop: threading.Event,
    seconds: float,
    *,
    started: launch.Running,
    watch: AlertWatch,
    episodes: Episodes,
) -> None:
    """Every 5 s: the status, the watched alerts, the episodes; until ``stop``, the simulator
    exits or ``seconds`` have passed (0 = no limit)."""
    deadline = time.monotonic() + seconds if seconds > 0 else None
    status = Status()
    while not stop.wait(TICK_S):
        with engine.connect() as conn:
            seen = watch.seen(conn)
            status.report(conn, seen)
            watch.report(seen)
            episodes.tick(conn)
        if any(c.poll() is not None for c in started.children):
            say("a simulator stopped; see simulator.log and sparkplug.log in the data directory")
            return
        if deadline is not None and time.monotonic() >= deadline:
            return
