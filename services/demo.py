"""``energymon demo``: the whole platform on one machine, with simulated gateways.

Services come from ``ENERGYMON_DATABASE_URL`` / ``ENERGYMON_MQTT_URL`` when set, else the local
PostgreSQL and Mosquitto on their standard ports when they answer, else embedded ones started
from this machine's binaries with their data under ``--data-dir`` (kept between runs; ``--reset``
wipes it). Then: migrate, provision a simulated district, run MQTT ingest and the API in this
process and the gateway simulator beside it, and report progress until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine

from services.core.db import make_engine
from services.core.embedded import Embedded, port_open, postgres_answers, wait_for
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.schema.migrate import upgrade
from services.core.settings import (
    ApiSettings,
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    MqttSettings,
)
from simulators.gateways.fleet import FleetConfig, build_fleet, fleet_to_registry_yaml

DEMO_OFFICER = ("officer", "demo-officer-password")


@dataclass
class Services:
    db_url: str
    mqtt_url: str
    db_origin: str
    mqtt_origin: str


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def resolve_services(data_dir: Path, embedded: Embedded, *, force_embedded: bool) -> Services:
    db_url = None if force_embedded else os.environ.get("ENERGYMON_DATABASE_URL")
    db_origin = "configured (ENERGYMON_DATABASE_URL)"
    if not db_url:
        if not force_embedded and postgres_answers("postgresql://postgres@127.0.0.1:5432/postgres"):
            db_url, db_origin = (
                "postgresql://postgres@127.0.0.1:5432/energymon_demo",
                "local PostgreSQL on 127.0.0.1:5432",
            )
        else:
            server = embedded.start_postgres(data_dir / "postgres")
            db_url = server.rsplit("/", 1)[0] + "/energymon_demo"
            db_origin = f"embedded PostgreSQL in {data_dir / 'postgres'}"
        _ensure_database(db_url)
    mqtt_url = None if force_embedded else os.environ.get("ENERGYMON_MQTT_URL")
    mqtt_origin = "configured (ENERGYMON_MQTT_URL)"
    if not mqtt_url:
        if not force_embedded and port_open("127.0.0.1", 1883):
            mqtt_url, mqtt_origin = "mqtt://127.0.0.1:1883", "local Mosquitto on 127.0.0.1:1883"
        else:
            port = embedded.start_mosquitto(data_dir / "mosquitto")
            mqtt_url, mqtt_origin = f"mqtt://127.0.0.1:{port}", f"embedded Mosquitto on :{port}"
    return Services(db_url, mqtt_url, db_origin, mqtt_origin)


def _ensure_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def run_demo(args: argparse.Namespace) -> int:
    common = CommonSettings()
    configure_logging("WARNING", "console")
    if common.env == "production":
        say("refused: the demo prints a demo password and is for development only")
        return 2
    data_dir = Path(args.data_dir)
    if args.reset and data_dir.exists():
        shutil.rmtree(data_dir)
        say(f"wiped {data_dir}")
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = stop_on_signals()
    embedded = Embedded()
    threads: list[threading.Thread] = []
    children: list[subprocess.Popen[bytes]] = []
    servers: list[Any] = []
    try:
        say("starting: resolving PostgreSQL and MQTT ...")
        svc = resolve_services(data_dir.resolve(), embedded, force_embedded=args.embedded)
        say(f"database: {svc.db_origin}")
        say(f"broker:   {svc.mqtt_origin}")
        db = DatabaseSettings(url=svc.db_url)
        mqtt = MqttSettings(
            url=svc.mqtt_url, topic_root=os.environ.get("ENERGYMON_MQTT_TOPIC_ROOT", "energymon")
        )
        _prepare(db, data_dir, args)
        api = ApiSettings()
        threads.append(_start_ingest(common, db, mqtt, data_dir, stop))
        api_thread, server = _start_api(common, db, api)
        threads.append(api_thread)
        servers.append(server)
        ingest_ready = f"http://127.0.0.1:{IngestSettings().metrics_port}/readyz"
        say("starting ingest and the API ...")
        wait_for(lambda: _answers(ingest_ready), 60, "ingest to be ready")
        wait_for(lambda: _answers(f"http://{api.host}:{api.port}/readyz"), 60, "the API")
        children.append(_start_simulator(svc, mqtt, args))
        threads.append(_start_rollups(db, stop))
        threads.append(_start_alerts(common, db, stop))
        say("ready")
        _announce(api)
        _progress(db, stop, args.seconds, children)
    finally:
        stop.set()
        for server in servers:
            server.should_exit = True
        for child in children:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        for t in threads:
            t.join(15)
        embedded.close()
        say("stopped")
    return 0


def _prepare(db: DatabaseSettings, data_dir: Path, args: argparse.Namespace) -> None:
    """Migrate, provision the simulated district, make sure the demo officer exists."""
    engine = make_engine(db)
    say(f"migrating ... revision {upgrade(engine, db)}")
    registry_file = data_dir / "district.yaml"
    _write_fleet(registry_file, args)
    with engine.begin() as conn:
        report = apply_district(conn, parse_district(registry_file.read_text("utf-8")))
    say(f"district provisioned from {registry_file}: {report.summary()}")
    _ensure_officer(engine)
    engine.dispose()


def _announce(api: ApiSettings) -> None:
    say(
        f"API docs:   http://{api.host}:{api.port}/docs  (login {DEMO_OFFICER[0]} / "
        f"{DEMO_OFFICER[1]}, development only)"
    )
    say(
        f"metrics:    http://{api.host}:{api.port}/metrics and "
        f"http://127.0.0.1:{IngestSettings().metrics_port}/metrics"
    )
    say("Ctrl-C stops everything; the data stays for the next run (--reset wipes it)")


DEMO_INTERVAL_S = 60


def _fleet_config(args: argparse.Namespace) -> FleetConfig:
    return FleetConfig(
        seed=args.seed,
        enterprises=30,
        gateways_per_enterprise=1,
        meters_per_gateway=3,
        data_centres=4,
        interval_s=DEMO_INTERVAL_S,
        budget_year=datetime.now(CommonSettings().zone).year,
    )


def _write_fleet(path: Path, args: argparse.Namespace) -> None:
    path.write_text(fleet_to_registry_yaml(build_fleet(_fleet_config(args))), encoding="utf-8")


def _start_simulator(
    svc: Services, mqtt: MqttSettings, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    """The gateways publish the last two hours as a backlog, then every minute as it comes."""
    env = {
        **os.environ,
        "ENERGYMON_MQTT_URL": svc.mqtt_url,
        "ENERGYMON_MQTT_TOPIC_ROOT": mqtt.topic_root,
    }
    config = _fleet_config(args)
    steps = 2 * 3600 // config.interval_s
    start = datetime.now(UTC) - timedelta(seconds=steps * config.interval_s)
    start -= timedelta(seconds=start.timestamp() % config.interval_s)
    log = (Path(args.data_dir) / "simulator.log").open("ab")
    cmd = [
        sys.executable,
        "-m",
        "services.cli",
        "simulate",
        "gateways",
        "--seed",
        str(args.seed),
        "--enterprises",
        str(config.enterprises),
        "--data-centres",
        str(config.data_centres),
        "--interval",
        str(config.interval_s),
        "--start",
        start.isoformat(),
        "--steps",
        str(steps),
        "--realtime",
    ]
    try:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def _ensure_officer(engine: Engine) -> None:
    from services.api.security import Role
    from services.api.users import AccountError, create_user

    with engine.begin() as conn, contextlib.suppress(AccountError):  # kept from an earlier run
        create_user(conn, username=DEMO_OFFICER[0], password=DEMO_OFFICER[1], role=Role.OFFICER)


def _start_ingest(
    common: CommonSettings,
    db: DatabaseSettings,
    mqtt: MqttSettings,
    data_dir: Path,
    stop: threading.Event,
) -> threading.Thread:
    from services.ingest.main import IngestConfig, run_mqtt

    ingest = IngestSettings(spool_dir=data_dir / "spool", client_id="energymon-demo-ingest")
    cfg = IngestConfig(common, db, mqtt, ingest)
    thread = threading.Thread(target=run_mqtt, args=(cfg, stop), name="demo-ingest", daemon=True)
    thread.start()
    return thread


def _start_alerts(
    common: CommonSettings, db: DatabaseSettings, stop: threading.Event
) -> threading.Thread:
    """The alerts service, evaluating every 20 s so alerts open within the demo's first minutes."""
    from services.alerts.main import run as run_alerts
    from services.core.settings import AlertsSettings

    settings = AlertsSettings(interval_s=20, hold_s=120)
    thread = threading.Thread(
        target=run_alerts, args=(common, db, settings, stop), name="demo-alerts", daemon=True
    )
    thread.start()
    return thread


def _start_rollups(db: DatabaseSettings, stop: threading.Event) -> threading.Thread:
    """Keep the 15-minute rollups current, as `energymon accounting run` does."""
    from services.core.accounting.rollup import catch_up

    def loop() -> None:
        engine = make_engine(db, pool_size=1)
        while not stop.wait(5):
            catch_up(engine)
        engine.dispose()

    thread = threading.Thread(target=loop, name="demo-rollups", daemon=True)
    thread.start()
    return thread


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL we built
            return bool(resp.status == 200)
    except OSError:
        return False


def _start_api(
    common: CommonSettings, db: DatabaseSettings, api: ApiSettings
) -> tuple[threading.Thread, Any]:
    import uvicorn

    from services.api.app import create_app
    from services.api.context import ApiConfig

    app = create_app(ApiConfig(common, db, api, IngestSettings()))
    server = uvicorn.Server(
        uvicorn.Config(app, host=api.host, port=api.port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
    thread.start()
    return thread, server


def _progress(
    db: DatabaseSettings,
    stop: threading.Event,
    seconds: float,
    children: list[subprocess.Popen[bytes]],
) -> None:
    deadline = time.monotonic() + seconds if seconds > 0 else None
    while not stop.wait(5):
        with psycopg.connect(db.libpq_url) as conn:
            readings, dead = conn.execute(
                "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM dead_letters)"
            ).fetchone() or (0, 0)
            online = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'online'), count(*) FROM gateways"
            ).fetchone() or (0, 0)
            alerts = conn.execute(
                "SELECT rule || ' ' || subject || ' ' || time_window || ' ' || "
                "coalesce(round(value::numeric, 3)::text, '') || ' > ' || "
                "coalesce(limit_value::text, '') FROM alerts WHERE state = 'open' "
                "AND (rule = 'pue_over_limit' OR rule LIKE 'budget%') ORDER BY id"
            ).fetchall()
        say(
            f"readings stored {readings:,}; dead letters {dead:,}; "
            f"gateways online {online[0]}/{online[1]}; PUE and budget alerts open {len(alerts)}"
        )
        for (line,) in alerts[:8]:
            say(f"  alert: {line}")
        if any(c.poll() is not None for c in children):
            say("the simulator stopped; see simulator.log in the data directory")
            return
        if deadline is not None and time.monotonic() >= deadline:
            return
