"""``energymon demo``: the whole platform on one machine, with simulated gateways and meters.

Services come from ``ENERGYMON_DATABASE_URL`` / ``ENERGYMON_MQTT_URL`` when set, else the local
PostgreSQL and Mosquitto on their standard ports when they answer, else embedded ones started
from this machine's binaries with their data under ``--data-dir`` (kept between runs; ``--reset``
wipes it). Then: serve simulated Modbus TCP meters on a loopback port, migrate, provision a
simulated district (its MQTT gateways and those Modbus meters, re-applied on every start so the
registry knows this run's port), run MQTT ingest, the Modbus poller and the API in this process and
the gateway simulator beside it, and report progress until Ctrl-C.

Two scripted episodes show alerts resolving as well as opening, each printed as it happens:

1. **A data centre commissioned during the demo.** ``dc-new`` (class ``new_large``, PUE about
   1.18) is registered at start, but its gateway only starts publishing a delay after "ready"
   (``ENERGYMON_DEMO_EPISODE_DELAY_S``, default 60 s): until then the PUE rule reports
   insufficient data for each window; its first reading makes coverage complete, and those
   alerts resolve after the hold time.
2. **A budget revision.** Twice that delay after "ready", an officer-like action raises the spent
   electricity budget of the fleet's first enterprise (re-applying the district file with the
   larger amount), so its ``budget_exceeded`` alert resolves after the hold. Every start resets
   the budget to its breaching amount, so the episode replays on a reused data directory.

The demo evaluates alerts every 20 s and resolves them after 60 s clear unless
``ENERGYMON_ALERTS_INTERVAL_S`` / ``ENERGYMON_ALERTS_HOLD_S`` are set.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml
from sqlalchemy import Engine, text

from services.core.db import make_engine
from services.core.devices.loader import shipped_maps
from services.core.domain.roles import COUNTED_ROLES, MeterRole
from services.core.embedded import Embedded, free_port, port_open, postgres_answers, wait_for
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging
from services.core.registry.spec import parse_district
from services.core.registry.store import ApplyReport, apply_district
from services.core.schema.migrate import upgrade
from services.core.settings import (
    AccountingSettings,
    AlertsSettings,
    ApiSettings,
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    ModbusSettings,
    MqttSettings,
)
from simulators.gateways.fleet import (
    ELECTRIC_POINTS,
    EnterpriseSim,
    Fleet,
    FleetConfig,
    GatewaySim,
    MeterSim,
    ReadingStream,
    SiteSim,
    build_fleet,
    registry_document,
)
from simulators.gateways.publisher import FleetPublisher
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

# Episode 1, a data centre commissioned during the demo: a fifth data-centre site in an enterprise
# without a data centre, budget or Modbus meters, with a gateway of its own. Its meters are
# 15-minute interval meters (the settlement interval): with one reading expected per bucket, the
# first reading completes its coverage, which is counted from a point's first reading (a
# one-minute meter would need thirteen readings in its first bucket before it counted as covered).
DC_NEW = "dc-new"
DC_NEW_ENTERPRISE = 6  # index in the fleet
DC_NEW_GATEWAY = "gw-dc"
DC_NEW_CLASS = "new_large"  # limit 1.25
DC_NEW_PUE = 1.18  # healthy: it ends below its limit
DC_NEW_IT_KW = 3200.0
DC_NEW_INTERVAL_S = 900
# Episode 2, a budget revision: the fleet's first enterprise, whose electricity budget is spent.
REVISED_ENTERPRISE = 0
EPISODE_DELAY_S = 60.0  # dc-new publishes this long after "ready"; the budget revision at twice
EPISODE_GRACE_S = 120.0  # an episode waits this much longer for the alert it is meant to resolve
DEMO_ALERTS_INTERVAL_S = 20.0
DEMO_ACCOUNTING_INTERVAL_S = 5.0
DEMO_HOLD_S = 60.0  # the demo's hold time unless ENERGYMON_ALERTS_HOLD_S is set (default 600 s)
SHUTDOWN_BUDGET_S = 10.0  # the services' threads and the gateway simulator, together


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
            port = embedded.start_mosquitto(data_dir / "mosquitto", profile="demo")
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
    stop = stop_on_signals(common.shutdown_timeout_s)
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
        district = District(
            fleet, modbus_meters, modbus_port, _dc_new_fleet(fleet), data_dir / "district.yaml"
        )
        history = _prepare(db, district)
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
        _wait_ready(api, modbus, stop)
        if stop.is_set():  # stopped while starting: the finally block stops what did start
            return 0
        _wait_for_backlog(db, _start_simulator(svc, mqtt, args, children), stop)
        if stop.is_set():
            return 0
        threads.append(_start_accounting(common, db, stop))
        alerts, watch = _start_alerts(common, db, stop, threads)
        say("ready")
        episodes = Episodes(
            db=db,
            mqtt=mqtt,
            district=district,
            history=history,
            stop=stop,
            threads=threads,
            delay_s=_episode_delay(),
        )
        _announce(api, modbus, alerts, episodes)
        _progress(db, stop, args.seconds, children=children, watch=watch, episodes=episodes)
    finally:
        stop.set()
        _shut_down(servers, children, threads, _shutdown_budget_s(common))
        simulators.close()  # the Modbus meters, once their poller has stopped
        embedded.close()
        say("stopped")
    return 0


def _shutdown_budget_s(common: CommonSettings) -> float:
    """How long the services' threads and the gateway simulator get to stop: half the shutdown
    timeout, the other half being for the meter simulator and the embedded servers (the
    watchdog ends the process at the full timeout)."""
    timeout_s = common.shutdown_timeout_s
    return min(SHUTDOWN_BUDGET_S, timeout_s / 2) if timeout_s > 0 else SHUTDOWN_BUDGET_S


def _shut_down(
    servers: list[Any],
    children: list[subprocess.Popen[bytes]],
    threads: list[threading.Thread],
    within_s: float,
) -> None:
    """After ``stop`` is set: the API, the gateway simulator, then the threads, all within
    ``within_s`` (a thread still running then is a daemon: it ends with the process)."""
    deadline = time.monotonic() + within_s

    def left() -> float:
        return max(0.0, deadline - time.monotonic())

    for server in servers:
        server.should_exit = True
    for child in children:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(left())
        except subprocess.TimeoutExpired:
            child.kill()
    for t in threads:
        t.join(left())


def _prepare(db: DatabaseSettings, district: District) -> DcHistory:
    """Migrate, provision the simulated district, make sure the demo officer exists.

    The registry file is written and applied on every start (applying is idempotent): an
    unchanged district reports "unchanged", the Modbus meters' connection follows the port the
    meter simulator got this time, and a budget revised by an earlier run goes back to its
    breaching amount. Returns what an earlier run left of the commissioned data centre."""
    engine = make_engine(db)
    say(f"migrating ... revision {upgrade(engine, db)}")
    ent, amount = district.revised_budget()
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT b.amount FROM budgets b JOIN enterprises e ON e.id = b.enterprise_id "
                "WHERE e.code = :ent AND b.year = :year AND b.carrier = 'electricity' "
                "AND b.site_code = '' AND b.active"
            ),
            {"ent": ent, "year": district.fleet.config.budget_year},
        ).scalar()
    report = district.apply(engine)
    say(f"district provisioned from {district.path}: {report.summary()}")
    if stored is not None and float(stored) != amount:
        say(
            f"budget of {ent} reset to {_kwh(amount)} kWh (revised to {_kwh(float(stored))} kWh "
            "by an earlier run), so the revision episode replays"
        )
    say(
        f"modbus:   {len(district.modbus_meters)} meters on 127.0.0.1:{district.modbus_port} "
        f"(simulated), polled every {MODBUS_INTERVAL_S} s"
    )
    for code in dict.fromkeys(m.enterprise for m in district.modbus_meters):
        listed = ", ".join(
            f"{m.code} (unit {m.sim.unit_id}, {m.sim.device.model})"
            for m in district.modbus_meters
            if m.enterprise == code
        )
        say(f"  modbus meters of {code}: {listed}")
    _ensure_officer(engine)
    history = _dc_new_history(engine, district.dc_new)
    engine.dispose()
    return history


def _wait_ready(api: ApiSettings, modbus: ModbusSettings, stop: threading.Event) -> None:
    """Until ingest, the poller and the API answer ready, or ``stop`` is set."""
    say("starting ingest, the Modbus poller and the API ...")
    ingest_ready = f"http://127.0.0.1:{IngestSettings().metrics_port}/readyz"
    wait_for(lambda: stop.is_set() or _answers(ingest_ready), 60, "ingest to be ready")
    wait_for(
        lambda: stop.is_set() or _answers(f"http://127.0.0.1:{modbus.metrics_port}/readyz"),
        60,
        "the Modbus poller to be ready",
    )
    wait_for(
        lambda: stop.is_set() or _answers(f"http://{api.host}:{api.port}/readyz"), 60, "the API"
    )


def _announce(
    api: ApiSettings, modbus: ModbusSettings, alerts: AlertsSettings, episodes: Episodes
) -> None:
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
    episodes.announce(alerts)


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


def _dc_new_fleet(fleet: Fleet) -> Fleet:
    """The data centre commissioned during the demo, as a fleet of its one gateway: its facility
    meter reads its IT load times its PUE, as the fleet's data centres do."""
    host = fleet.enterprises[DC_NEW_ENTERPRISE]
    seed = fleet.config.seed
    it = MeterSim(
        "DCN-IT",
        DC_NEW,
        "electricity",
        MeterRole.IT_LOAD,
        1.0,
        ELECTRIC_POINTS,
        DC_NEW_IT_KW,
        0.0,
        seed + 501,
    )
    facility = MeterSim(
        "DCN-IN",
        DC_NEW,
        "electricity",
        MeterRole.FACILITY_TOTAL,
        1.0,
        ELECTRIC_POINTS,
        DC_NEW_IT_KW * DC_NEW_PUE,
        0.0,
        seed + 502,
        pue=DC_NEW_PUE,
        it_meter=it,
    )
    site = SiteSim(DC_NEW, "data_centre", DC_NEW_CLASS, [facility, it])
    ent = EnterpriseSim(
        host.code, host.name, host.industry, host.town, [GatewaySim(DC_NEW_GATEWAY, [facility, it])]
    )
    ent.sites.append(site)
    return Fleet(replace(fleet.config, data_centres=1, interval_s=DC_NEW_INTERVAL_S), [ent])


@dataclass
class District:
    """What the demo provisions, from one registry file: the fleet, the Modbus meters, the data
    centre commissioned during the demo, and budgets an episode revised (enterprise -> amount)."""

    fleet: Fleet
    modbus_meters: list[ModbusMeter]
    modbus_port: int
    dc_new: Fleet
    path: Path
    revised: dict[str, float] = field(default_factory=dict)

    @property
    def dc_new_subject(self) -> str:
        return f"{self.dc_new.enterprises[0].code}/{DC_NEW}"

    def revised_budget(self) -> tuple[str, float]:
        """The enterprise of the budget revision and its budget's amount in the file."""
        code = self.fleet.enterprises[REVISED_ENTERPRISE].code
        doc = next(e for e in self.document()["enterprises"] if e["code"] == code)
        return code, float(doc["budgets"][0]["amount"])

    def document(self) -> dict[str, Any]:
        """The fleet's registry plus the Modbus meters, each in its enterprise's first plant, and
        the new data centre with its gateway (within an enterprise the file is authoritative, so
        everything of an enterprise must be in the same document)."""
        doc = registry_document(self.fleet)
        by_code = {ent["code"]: ent for ent in doc["enterprises"]}
        for m in self.modbus_meters:
            plant = next(s for s in by_code[m.enterprise]["sites"] if s["kind"] == "industrial")
            plant["meters"].append(
                {
                    "code": m.code,
                    "carrier": "electricity",
                    "protocol": "modbus",
                    "role": MeterRole.SUB.value,
                    "interval_s": MODBUS_INTERVAL_S,
                    "connection": {
                        "host": "127.0.0.1",
                        "port": self.modbus_port,
                        "unit_id": m.sim.unit_id,
                        "map": m.sim.device.model,
                        "interval_s": MODBUS_INTERVAL_S,
                        "timeout_s": 2.0,
                    },
                    "points": sorted(m.sim.device.fed_points()),
                }
            )
        for ent in self.dc_new.enterprises:
            host = by_code[ent.code]
            host["gateways"] += [{"code": g.code} for g in ent.gateways]
            host["sites"] += [
                {
                    "code": site.code,
                    "name": "Data centre commissioned during the demo",
                    "kind": site.kind,
                    "dc_class": site.dc_class,
                    "meters": [
                        {
                            "code": m.code,
                            "carrier": m.carrier,
                            "protocol": "mqtt",
                            "gateway": DC_NEW_GATEWAY,
                            "multiplier": m.multiplier,
                            "role": m.role.value,
                            "interval_s": DC_NEW_INTERVAL_S,
                            "points": [p.quantity.value for p in m.points],
                        }
                        for m in site.meters
                    ],
                }
                for site in ent.sites
            ]
        for code, amount in self.revised.items():
            for budget in by_code[code].get("budgets", []):
                budget["amount"] = amount
        return doc

    def apply(self, engine: Engine) -> ApplyReport:
        """Write the registry file and apply it, as `energymon registry load` would."""
        header = (
            f"# Generated by `energymon demo --seed {self.fleet.config.seed}`: the simulated "
            "district (MQTT gateways and Modbus meters; rewritten on every start).\n"
        )
        self.path.write_text(
            header + yaml.safe_dump(self.document(), sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        with engine.begin() as conn:
            return apply_district(conn, parse_district(self.path.read_text("utf-8")))


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
    svc: Services,
    mqtt: MqttSettings,
    args: argparse.Namespace,
    children: list[subprocess.Popen[bytes]],
) -> datetime:
    """The gateways publish the last two hours as a backlog, then every minute as it comes.
    Returns the time of the backlog's last readings."""
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
        children.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
    finally:
        log.close()
    return start + timedelta(seconds=(steps - 1) * config.interval_s)


def _wait_for_backlog(db: DatabaseSettings, last: datetime, stop: threading.Event) -> None:
    """Until every MQTT point of the simulated fleet has its backlog stored (up to a minute), then
    roll it up, before the accounting and alerts services start: the first evaluation sees the
    whole backlog rather than part of it (a data centre's PUE would read as insufficient data
    until the rest arrived)."""
    from services.accounting.rollup import catch_up

    say("waiting for the gateways' two-hour backlog to be stored ...")
    deadline = time.monotonic() + 60
    missing = -1
    while missing and time.monotonic() < deadline and not stop.is_set():
        with psycopg.connect(db.libpq_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM points p JOIN meters m ON m.id = p.meter_id "
                "JOIN sites s ON s.id = m.site_id WHERE p.active AND m.active "
                "AND m.protocol = 'mqtt' AND s.code <> %s AND NOT EXISTS "
                "(SELECT 1 FROM readings r WHERE r.point_id = p.id AND r.ts >= %s)",
                (DC_NEW, last),
            ).fetchone()
        missing = int(row[0]) if row else 0
        if missing:
            stop.wait(0.5)
    if stop.is_set():
        return
    if missing:
        say(f"{missing} simulated points still without their backlog; going on anyway")
    engine = make_engine(db, pool_size=1)
    try:
        catch_up(engine)
    finally:
        engine.dispose()


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


def _alerts_settings() -> AlertsSettings:
    """The alerts service's settings: evaluating every 20 s and resolving after 60 s clear, so
    alerts open and resolve within the demo's first minutes, unless the environment says
    otherwise."""
    configured = AlertsSettings()
    return AlertsSettings(
        interval_s=configured.interval_s
        if "ENERGYMON_ALERTS_INTERVAL_S" in os.environ
        else DEMO_ALERTS_INTERVAL_S,
        hold_s=configured.hold_s if "ENERGYMON_ALERTS_HOLD_S" in os.environ else DEMO_HOLD_S,
    )


def _episode_delay() -> float:
    raw = os.environ.get("ENERGYMON_DEMO_EPISODE_DELAY_S")
    return max(0.0, float(raw)) if raw else EPISODE_DELAY_S


def _start_alerts(
    common: CommonSettings,
    db: DatabaseSettings,
    stop: threading.Event,
    threads: list[threading.Thread],
) -> tuple[AlertsSettings, AlertWatch]:
    """The alerts service in a thread, as `energymon alerts run`, and the watch that prints this
    run's PUE and budget alerts."""
    from services.alerts.main import run as run_alerts

    settings = _alerts_settings()
    watch = AlertWatch(db, settings.hold_s)  # before the first evaluation
    thread = threading.Thread(
        target=run_alerts, args=(common, db, settings, stop), name="demo-alerts", daemon=True
    )
    thread.start()
    threads.append(thread)
    return settings, watch


def _start_accounting(
    common: CommonSettings, db: DatabaseSettings, stop: threading.Event
) -> threading.Thread:
    """The accounting service in a thread, as `energymon accounting run`: it keeps the rollups
    current (a pass every 5 s unless ENERGYMON_ACCOUNTING_INTERVAL_S is set)."""
    from services.accounting.main import run as run_accounting

    configured = AccountingSettings()
    settings = AccountingSettings(
        interval_s=configured.interval_s
        if "ENERGYMON_ACCOUNTING_INTERVAL_S" in os.environ
        else DEMO_ACCOUNTING_INTERVAL_S,
        metrics_port=_bindable(configured.metrics_port),
    )
    thread = threading.Thread(
        target=run_accounting,
        args=(common, db, settings, stop),
        name="demo-accounting",
        daemon=True,
    )
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


STATUS_EVERY = 6  # progress ticks (5 s each) between two status lines
LISTED_ALERTS = 12


def _progress(
    db: DatabaseSettings,
    stop: threading.Event,
    seconds: float,
    *,
    children: list[subprocess.Popen[bytes]],
    watch: AlertWatch,
    episodes: Episodes,
) -> None:
    deadline = time.monotonic() + seconds if seconds > 0 else None
    listed: list[str] = []  # the open alerts last listed (their rule, subject and window)
    tick = 0
    while not stop.wait(5):
        tick += 1
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
            which = [line.split(" > ")[0].rsplit(" ", 1)[0] for (line,) in alerts]
            if tick % STATUS_EVERY == 1 or which != listed:
                # the totals every half minute; the open alerts again only when they change
                say(
                    f"readings stored {readings:,} (mqtt {mqtt:,}, modbus {modbus:,}); "
                    f"dead letters {dead:,}; gateways online {online[0]}/{online[1]}; "
                    f"modbus meters reporting {reporting[0]}/{reporting[1]}; "
                    f"PUE and budget alerts open {len(alerts)}"
                )
            if which != listed:
                for (line,) in alerts[:LISTED_ALERTS]:
                    say(f"  alert: {line}")
                if len(alerts) > LISTED_ALERTS:
                    say(f"  ... and {len(alerts) - LISTED_ALERTS} more (GET /api/v1/alerts)")
                listed = which
            watch.poll(conn)
            episodes.tick(conn)
        if any(c.poll() is not None for c in children):
            say("the simulator stopped; see simulator.log in the data directory")
            return
        if deadline is not None and time.monotonic() >= deadline:
            return


class AlertWatch:
    """Prints PUE and budget alerts as they open, start clearing and resolve (from the alerts
    table, so whatever the alerts service did is what is printed)."""

    def __init__(self, db: DatabaseSettings, hold_s: float) -> None:
        with psycopg.connect(db.libpq_url) as conn:
            row = conn.execute("SELECT now()").fetchone()
        self.since: datetime = row[0] if row else datetime.now(UTC)
        self.hold_s = hold_s
        self.phase: dict[int, str] = {}  # alert id -> open / clearing / resolved, as printed

    def poll(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute(
            "SELECT id, rule || ' ' || subject || ' ' || time_window, state, opened_at, "
            "cleared_since IS NOT NULL, resolved_at FROM alerts "
            "WHERE rule ~ '^(pue|budget)_' AND (state <> 'resolved' OR resolved_at >= %s) "
            "ORDER BY id",
            (self.since,),
        ).fetchall()
        for alert_id, what, state, opened_at, clearing, resolved_at in rows:
            before = self.phase.get(alert_id)
            if before is None:
                if opened_at < self.since:
                    say(f"alert still open from an earlier run: {what}")
                else:
                    say(f"alert opened: {what}")
            phase = "resolved" if state == "resolved" else "clearing" if clearing else "open"
            if phase == before or (before is None and phase == "open"):
                self.phase[alert_id] = phase
                continue
            if phase == "clearing":
                say(f"alert clearing: {what} (resolves once clear for {self.hold_s:g} s)")
            elif phase == "open":
                say(f"alert condition back: {what}")
            else:
                took = _duration(resolved_at - opened_at)
                say(f"alert resolved: {what} (open {took})")
            self.phase[alert_id] = phase


def _duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    if total >= 3600:
        return f"{total // 3600} h {total % 3600 // 60} min"
    return f"{total // 60} min {total % 60} s" if total >= 60 else f"{total} s"


@dataclass(frozen=True)
class DcHistory:
    """What earlier runs left of the commissioned data centre: its first and last readings and
    each meter's last counter value (its gateway carries on from there)."""

    first: datetime | None = None
    last: datetime | None = None
    counters: dict[str, float] = field(default_factory=dict)


def _dc_new_history(engine: Engine, dc_new: Fleet) -> DcHistory:
    ent = dc_new.enterprises[0]
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
            SELECT m.code, r.ts, r.value,
                   (SELECT min(ts) FROM readings WHERE point_id = p.id) AS first
            FROM meters m JOIN enterprises e ON e.id = m.enterprise_id
            JOIN sites s ON s.id = m.site_id
            JOIN points p ON p.meter_id = m.id AND p.quantity = 'energy_import_kwh'
            CROSS JOIN LATERAL (SELECT ts, value FROM readings WHERE point_id = p.id
                                ORDER BY ts DESC LIMIT 1) r
            WHERE e.code = :ent AND s.code = :site"""),
            {"ent": ent.code, "site": DC_NEW},
        ).all()
    if not rows:
        return DcHistory()
    return DcHistory(
        min(r.first for r in rows), max(r.ts for r in rows), {r.code: float(r.value) for r in rows}
    )


class Episodes:
    """The demo's two scripted episodes, run from the progress loop: the new data centre's gateway
    starts publishing after ``delay_s``; the budget is revised after twice that. Each waits (up to
    ``EPISODE_GRACE_S`` more) for the alert it is meant to resolve to be live, so that the alert
    is seen opening before it resolves."""

    def __init__(
        self,
        *,
        db: DatabaseSettings,
        mqtt: MqttSettings,
        district: District,
        history: DcHistory,
        stop: threading.Event,
        threads: list[threading.Thread],
        delay_s: float,
    ) -> None:
        self.db = db
        self.mqtt = mqtt
        self.district = district
        self.history = history
        self.stop = stop
        self.threads = threads
        self.delay_s = delay_s
        self.started = time.monotonic()
        self.commissioned = False
        self.revised = False

    def announce(self, alerts: AlertsSettings) -> None:
        hold = (
            "ENERGYMON_ALERTS_HOLD_S"
            if "ENERGYMON_ALERTS_HOLD_S" in os.environ
            else "the demo's; set ENERGYMON_ALERTS_HOLD_S to change it, default 600 s"
        )
        say(
            f"alerts: evaluated every {alerts.interval_s:g} s; an alert resolves once its "
            f"condition has been clear for {alerts.hold_s:g} s ({hold})"
        )
        say(
            f"episode 1: {self.district.dc_new_subject}, a new large data centre (PUE about "
            f"{DC_NEW_PUE}, limit 1.25), is registered; its gateway {DC_NEW_GATEWAY} starts "
            f"publishing {self.delay_s:g} s from now"
        )
        if self.history.first is not None:
            say(
                f"  dc-new: commissioned on an earlier run (first reading "
                f"{_local(self.history.first)}): its coverage counts from then, so the time the "
                "demo was stopped counts as missing data and its PUE may stay insufficient"
            )
        ent, amount = self.district.revised_budget()
        say(
            f"episode 2: the electricity budget of {ent} ({_kwh(amount)} kWh, already spent) is "
            f"revised {2 * self.delay_s:g} s from now"
        )

    def tick(self, conn: psycopg.Connection[Any]) -> None:
        elapsed = time.monotonic() - self.started
        if not self.commissioned and elapsed >= self.delay_s:
            live = _live(
                conn,
                "rule = 'pue_insufficient_data' AND subject = %s",
                (self.district.dc_new_subject,),
            )
            if live or self.history.first is not None or elapsed >= self.delay_s + EPISODE_GRACE_S:
                self.commissioned = True
                self._commission()
        if not self.revised and elapsed >= 2 * self.delay_s:
            ent, _ = self.district.revised_budget()
            live = _live(
                conn,
                "rule = 'budget_exceeded' AND enterprise_id = "
                "(SELECT id FROM enterprises WHERE code = %s)",
                (ent,),
            )
            if live or elapsed >= 2 * self.delay_s + EPISODE_GRACE_S:
                self.revised = True
                self._revise()

    def _commission(self) -> None:
        dc = self.district.dc_new
        for _, _, meter in dc.meters():
            meter.counter = self.history.counters.get(meter.code, 0.0) / meter.multiplier
        now = datetime.now(UTC)
        start = now - timedelta(seconds=now.timestamp() % DC_NEW_INTERVAL_S)
        if self.history.last is not None:  # carry on after what an earlier run published
            start = max(start, self.history.last + timedelta(seconds=DC_NEW_INTERVAL_S))
        second = start + timedelta(seconds=DC_NEW_INTERVAL_S)
        say(
            f"dc-new: gateway starts publishing ({self.district.dc_new_subject} via "
            f"{DC_NEW_GATEWAY}; 15-minute interval meters: first reading {_local(start)}, its PUE "
            f"computable from the next, {_local(second)})"
        )
        stream = ReadingStream(dc, start)
        thread = threading.Thread(
            target=_publish_dc_new, args=(dc, self.mqtt, stream, self.stop), name="demo-dc-new"
        )
        thread.daemon = True
        thread.start()
        self.threads.append(thread)

    def _revise(self) -> None:
        ent, before = self.district.revised_budget()
        amount = _revised_amount(self.district.fleet)
        self.district.revised[ent] = amount
        engine = make_engine(self.db, pool_size=1)
        try:
            report = self.district.apply(engine)
        finally:
            engine.dispose()
        changed = [
            f"{t} {o} {n}" for (t, o), n in sorted(report.counts.items()) if o != "unchanged"
        ]
        say(
            f"budget revised: {ent} {self.district.fleet.config.budget_year} electricity "
            f"{_kwh(before)} -> {_kwh(amount)} kWh (as an officer would after an approved "
            f"revision: {self.district.path.name} re-applied, {', '.join(changed) or 'unchanged'})"
        )


def _live(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> bool:
    sql = f"SELECT EXISTS (SELECT 1 FROM alerts WHERE state <> 'resolved' AND {where})"
    row = conn.execute(sql, params).fetchone()
    return bool(row and row[0])


def _local(ts: datetime) -> str:
    return ts.astimezone(CommonSettings().zone).isoformat(timespec="minutes")


def _kwh(amount: float) -> str:
    return f"{amount:,.1f}".removesuffix(".0")


def _revised_amount(fleet: Fleet) -> float:
    """The revised budget: a year of the enterprise's counted electricity (boundary and data-centre
    facility meters) at 1.5 times their mean load, rounded up to two significant figures, so
    neither the share used nor a projection comes near it."""
    ent = fleet.enterprises[REVISED_ENTERPRISE]
    mean_kw = sum(
        m.base
        for _, _, m in Fleet(fleet.config, [ent]).meters()
        if m.carrier == "electricity" and m.role in COUNTED_ROLES
    )
    year_kwh = mean_kw * 24 * 366 * 1.5
    step = 10 ** max(0, math.floor(math.log10(year_kwh)) - 1)
    return float(math.ceil(year_kwh / step) * step)


def _publish_dc_new(
    dc: Fleet, mqtt: MqttSettings, stream: ReadingStream, stop: threading.Event
) -> None:
    """The new data centre's gateway: connects when commissioned and publishes each reading as
    wall-clock time reaches it (never a backlog), until the demo stops."""
    publisher = FleetPublisher(dc, mqtt)
    try:
        publisher.connect()
        while not stop.is_set():
            lead = (stream.next_ts - datetime.now(UTC)).total_seconds()
            if stop.wait(max(0.0, lead)):
                break
            publisher.publish(stream.take(1))
    except (OSError, RuntimeError) as exc:
        say(f"dc-new: the gateway stopped: {exc}")
    finally:
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            publisher.close()
