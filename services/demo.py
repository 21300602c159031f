"""``energymon demo``: the whole platform on one machine, with simulated gateways and meters.

Services come from ``ENERGYMON_DATABASE_URL`` / ``ENERGYMON_MQTT_URL`` when set, else the local
PostgreSQL and Mosquitto on their standard ports when they answer, else embedded ones started
from this machine's binaries with their data under ``--data-dir`` (kept between runs; ``--reset``
wipes it). Then: serve simulated Modbus TCP meters on a loopback port, migrate, provision a
simulated district (its MQTT gateways and those Modbus meters, re-applied on every start so the
registry knows this run's port), run MQTT ingest, the Modbus poller and the API in this process and
the gateway simulator beside it, and report progress until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
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
import yaml
from sqlalchemy import Engine

from services.core.db import make_engine
from services.core.devices.loader import shipped_maps
from services.core.embedded import Embedded, free_port, port_open, postgres_answers, wait_for
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
    ModbusSettings,
    MqttSettings,
)
from simulators.gateways.fleet import Fleet, FleetConfig, build_fleet, registry_document
from simulators.meters.device import SimulatedMeter
from simulators.meters.server import MeterServer, running

DEMO_OFFICER = ("officer", "demo-officer-password")

# The Modbus path: workshop sub-meters of two plants without budgets or data centres (the fleet's
# fifth and sixth enterprises), read over Modbus TCP from the meter simulator. Sub-meters stay
# out of the enterprises' boundary consumption, so the alerts the district is built to cause are
# the same with or without them. Mean loads stay within every map's register range.
MODBUS_METERS = (  # (enterprise index in the fleet, meter code, device map, mean kW)
    (4, "MB-1", "eastron-sdm630", 18.0),
    (4, "MB-2", "schneider-iem3155", 12.0),
    (4, "MB-3", "acrel-adl3000", 22.0),
    (5, "MB-1", "acrel-adl3000", 9.0),
    (5, "MB-2", "eastron-sdm630", 15.0),
    (5, "MB-3", "schneider-iem3155", 24.0),
)
MODBUS_PORT = 5020  # as `energymon simulate meters`; another free port when this one is taken
MODBUS_INTERVAL_S = 15
MODBUS_OWNER = "energymon-demo-modbus"  # a fixed lease owner: a restart takes its leases back


@dataclass(frozen=True)
class ModbusMeter:
    enterprise: str
    code: str
    sim: SimulatedMeter


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
    simulators = contextlib.ExitStack()
    try:
        say("starting: resolving PostgreSQL and MQTT ...")
        svc = resolve_services(data_dir.resolve(), embedded, force_embedded=args.embedded)
        say(f"database: {svc.db_origin}")
        say(f"broker:   {svc.mqtt_origin}")
        db = DatabaseSettings(url=svc.db_url)
        mqtt = MqttSettings(
            url=svc.mqtt_url, topic_root=os.environ.get("ENERGYMON_MQTT_TOPIC_ROOT", "energymon")
        )
        fleet = build_fleet(_fleet_config(args))
        modbus_meters, modbus_port = _serve_meters(fleet, args.seed, simulators)
        _prepare(db, data_dir, fleet, modbus_meters, modbus_port)
        api = ApiSettings()
        modbus = ModbusSettings(
            owner=MODBUS_OWNER,
            round_s=1.0,  # the poller notices a stop within its round: Ctrl-C stops at once
            spool_dir=data_dir / "spool-modbus",
            metrics_port=_bindable(ModbusSettings().metrics_port),
        )
        threads.append(_start_ingest(common, db, mqtt, data_dir, stop))
        threads.append(_start_modbus_poller(common, db, modbus, stop))
        api_thread, server = _start_api(common, db, api)
        threads.append(api_thread)
        servers.append(server)
        ingest_ready = f"http://127.0.0.1:{IngestSettings().metrics_port}/readyz"
        say("starting ingest, the Modbus poller and the API ...")
        wait_for(lambda: _answers(ingest_ready), 60, "ingest to be ready")
        wait_for(
            lambda: _answers(f"http://127.0.0.1:{modbus.metrics_port}/readyz"),
            60,
            "the Modbus poller to be ready",
        )
        wait_for(lambda: _answers(f"http://{api.host}:{api.port}/readyz"), 60, "the API")
        children.append(_start_simulator(svc, mqtt, args))
        threads.append(_start_rollups(db, stop))
        threads.append(_start_alerts(common, db, stop))
        say("ready")
        _announce(api, modbus)
        _progress(db, stop, args.seconds, children)
    finally:
        stop.set()
        _shut_down(servers, children, threads)
        simulators.close()  # the Modbus meters, once their poller has stopped
        embedded.close()
        say("stopped")
    return 0


def _shut_down(
    servers: list[Any], children: list[subprocess.Popen[bytes]], threads: list[threading.Thread]
) -> None:
    """After ``stop`` is set: the API, the gateway simulator, then the threads."""
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


def _prepare(
    db: DatabaseSettings,
    data_dir: Path,
    fleet: Fleet,
    modbus_meters: list[ModbusMeter],
    modbus_port: int,
) -> None:
    """Migrate, provision the simulated district, make sure the demo officer exists.

    The registry file is written and applied on every start (applying is idempotent): an
    unchanged district reports "unchanged", and the Modbus meters' connection follows the port
    the meter simulator got this time."""
    engine = make_engine(db)
    say(f"migrating ... revision {upgrade(engine, db)}")
    registry_file = data_dir / "district.yaml"
    _write_district(registry_file, fleet, modbus_meters, modbus_port)
    with engine.begin() as conn:
        report = apply_district(conn, parse_district(registry_file.read_text("utf-8")))
    say(f"district provisioned from {registry_file}: {report.summary()}")
    say(
        f"modbus:   {len(modbus_meters)} meters on 127.0.0.1:{modbus_port} (simulated), "
        f"polled every {MODBUS_INTERVAL_S} s"
    )
    for ent in dict.fromkeys(m.enterprise for m in modbus_meters):
        listed = ", ".join(
            f"{m.code} (unit {m.sim.unit_id}, {m.sim.device.model})"
            for m in modbus_meters
            if m.enterprise == ent
        )
        say(f"  modbus meters of {ent}: {listed}")
    _ensure_officer(engine)
    engine.dispose()


def _announce(api: ApiSettings, modbus: ModbusSettings) -> None:
    say(
        f"API docs:   http://{api.host}:{api.port}/docs  (login {DEMO_OFFICER[0]} / "
        f"{DEMO_OFFICER[1]}, development only)"
    )
    say(
        f"metrics:    http://{api.host}:{api.port}/metrics, "
        f"http://127.0.0.1:{IngestSettings().metrics_port}/metrics (MQTT ingest) and "
        f"http://127.0.0.1:{modbus.metrics_port}/metrics (Modbus poller)"
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


def _modbus_meters(fleet: Fleet, seed: int) -> list[ModbusMeter]:
    """The demo's Modbus meters, unit ids 1..N on one simulator port."""
    maps = shipped_maps()
    return [
        ModbusMeter(
            fleet.enterprises[ent].code,
            code,
            SimulatedMeter(unit, maps[model], base_kw, seed + unit),
        )
        for unit, (ent, code, model, base_kw) in enumerate(MODBUS_METERS, start=1)
    ]


def _serve_meters(
    fleet: Fleet, seed: int, simulators: contextlib.ExitStack
) -> tuple[list[ModbusMeter], int]:
    """Serve the demo's Modbus meters (in a thread, until ``simulators`` closes); their port is
    the usual one when it is free, so a restart usually finds the registry already right."""
    meters = _modbus_meters(fleet, seed)
    server = MeterServer([m.sim for m in meters], port=_bindable(MODBUS_PORT))
    simulators.enter_context(running(server))
    return meters, server.port


def _write_district(
    path: Path, fleet: Fleet, modbus_meters: list[ModbusMeter], modbus_port: int
) -> None:
    """The fleet's registry plus the Modbus meters, each in its enterprise's first plant (within
    an enterprise the file is authoritative, so they must be in the same document)."""
    doc = registry_document(fleet)
    by_code = {ent["code"]: ent for ent in doc["enterprises"]}
    for m in modbus_meters:
        plant = next(s for s in by_code[m.enterprise]["sites"] if s["kind"] == "industrial")
        plant["meters"].append(
            {
                "code": m.code,
                "carrier": "electricity",
                "protocol": "modbus",
                "role": "sub",
                "interval_s": MODBUS_INTERVAL_S,
                "connection": {
                    "host": "127.0.0.1",
                    "port": modbus_port,
                    "unit_id": m.sim.unit_id,
                    "map": m.sim.device.model,
                    "interval_s": MODBUS_INTERVAL_S,
                    "timeout_s": 2.0,
                },
                "points": sorted(m.sim.device.fed_points()),
            }
        )
    header = (
        f"# Generated by `energymon demo --seed {fleet.config.seed}`: the simulated district "
        "(MQTT gateways and Modbus meters; rewritten on every start).\n"
    )
    path.write_text(
        header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def _bindable(port: int) -> int:
    """``port`` when a loopback server can listen on it now, else a free one."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


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


def _start_modbus_poller(
    common: CommonSettings, db: DatabaseSettings, modbus: ModbusSettings, stop: threading.Event
) -> threading.Thread:
    """`energymon ingest modbus` in a thread: it polls the registry's Modbus meters and writes
    through its own ingest pipeline (readings.source = 2)."""
    from services.ingest.modbus.main import run as run_modbus

    thread = threading.Thread(
        target=run_modbus,
        args=(common, db, IngestSettings(), modbus, stop),
        name="demo-modbus",
        daemon=True,
    )
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
            readings, mqtt, modbus, dead = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE source = 1), "
                "count(*) FILTER (WHERE source = 2), (SELECT count(*) FROM dead_letters) "
                "FROM readings"
            ).fetchone() or (0, 0, 0, 0)
            online = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'online'), count(*) FROM gateways"
            ).fetchone() or (0, 0)
            # a Modbus meter reports when a poll of it was stored within its last three slots
            reporting = conn.execute(
                "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM points p JOIN readings r "
                "ON r.point_id = p.id WHERE p.meter_id = m.id AND p.active AND r.source = 2 "
                "AND r.ts > now() - make_interval(secs => 3 * p.interval_s))), count(*) "
                "FROM meters m WHERE m.protocol = 'modbus' AND m.active"
            ).fetchone() or (0, 0)
            alerts = conn.execute(
                "SELECT rule || ' ' || subject || ' ' || time_window || ' ' || "
                "coalesce(round(value::numeric, 3)::text, '') || ' > ' || "
                "coalesce(limit_value::text, '') FROM alerts WHERE state = 'open' "
                "AND (rule = 'pue_over_limit' OR rule LIKE 'budget%') ORDER BY id"
            ).fetchall()
        say(
            f"readings stored {readings:,} (mqtt {mqtt:,}, modbus {modbus:,}); "
            f"dead letters {dead:,}; gateways online {online[0]}/{online[1]}; "
            f"modbus meters reporting {reporting[0]}/{reporting[1]}; "
            f"PUE and budget alerts open {len(alerts)}"
        )
        for (line,) in alerts[:8]:
            say(f"  alert: {line}")
        if any(c.poll() is not None for c in children):
            say("the simulator stopped; see simulator.log in the data directory")
            return
        if deadline is not None and time.monotonic() >= deadline:
            return
