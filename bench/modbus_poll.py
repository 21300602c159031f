"""Modbus poller throughput: sustained successful device polls per second, schedule lag p95,
and poller CPU, for N simulated devices (one 40-register map, 1 s interval).

The meters are pymodbus servers in a separate process (LINES ports x UNITS unit ids: each port is
one line, polled one request at a time as an RS-485 bus would be). One poller process (this one)
runs the real ModbusPollerService with the ingest engine writing every reading to PostgreSQL.
Ceiling in the same run: the polls/s the configuration asks for (devices / interval).

Usage: .venv/bin/python bench/modbus_poll.py [--lines 40] [--units 30] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.devices.loader import load_map
from services.core.embedded import free_port
from services.core.pipeline.spool import Spool
from services.core.pipeline.validate import Limits
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.ingest.engine import EngineConfig, IngestEngine
from services.ingest.metrics import IngestMetrics
from services.ingest.modbus.devices import device_spec
from services.ingest.modbus.leases import LeaseManager
from services.ingest.modbus.metrics import PollerMetrics
from services.ingest.modbus.service import ModbusPollerService
from tests.support import db as dbs
from tests.support.services import Private, resolve_postgres, wait_for

MAPS = Path(__file__).with_name("maps")
ENT = "91120111MA07N9RT25"


def serve(ports: list[int], units: int) -> None:
    from simulators.meters.device import SimulatedMeter
    from simulators.meters.server import MeterServer

    device = load_map((MAPS / "bench-40.yaml").read_text())

    async def main() -> None:
        stop = asyncio.Event()
        servers = [
            MeterServer(
                [SimulatedMeter(u, device, 20.0, seed=p * 1000 + u) for u in range(1, units + 1)],
                port=p,
                update_s=5,
            )
            for p in ports
        ]
        await asyncio.gather(*(s.serve(stop) for s in servers))

    asyncio.run(main())


def district(ports: list[int], units: int) -> str:
    lines = []
    for p in ports:
        for u in range(1, units + 1):
            lines.append(
                f"          - {{code: B{p}-{u}, carrier: electricity, protocol: modbus, "
                f"interval_s: 1, connection: {{port: {p}, unit_id: {u}, map: bench-40, "
                f"interval_s: 1, timeout_s: 1}}, points: [energy_import_kwh, power_kw]}}"
            )
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Bench\n    industry: C33\n"
        f"    town: Xinkou\n    sites:\n      - code: s\n        meters:\n"
        + "\n".join(lines)
        + "\n"
    )


def quantile_from_buckets(registry: CollectorRegistry, name: str, q: float) -> float:
    buckets = []
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == f"{name}_bucket":
                buckets.append((float(s.labels["le"]), s.value))
    buckets.sort()
    total = buckets[-1][1]
    for le, count in buckets:
        if count >= q * total:
            return le
    return float("inf")


def main() -> int:  # noqa: PLR0915 - one measurement, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--units", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--sim-processes",
        type=int,
        choices=(1, 2),
        default=1,
        help="processes serving the simulated meters",
    )
    args = parser.parse_args()
    devices = args.lines * args.units
    private = Private()
    ports = _distinct_ports(args.lines)
    half = len(ports) // 2 if args.sim_processes == 2 else len(ports)
    sims = [
        multiprocessing.Process(target=serve, args=(chunk, args.units), daemon=True)
        for chunk in (ports[:half], ports[half:])
        if chunk
    ]
    for sim in sims:
        sim.start()
    try:
        server = resolve_postgres(private)
        template = dbs.create_template(server)
        name = dbs.clone(server, template)
        db = DatabaseSettings(url=dbs.with_database(server, name), timescale="off")
        engine = make_engine(db)
        with engine.begin() as conn:
            apply_district(conn, parse_district(district(ports, args.units)))
        registry = CollectorRegistry()
        ingest = IngestEngine(
            config=EngineConfig(),
            limits=Limits(),
            engine=engine,
            writer=ReadingWriter(db),
            spool=Spool(Path("/tmp/bench-spool"), 1 << 30),
            metrics=IngestMetrics(registry),
        )
        metrics = PollerMetrics(registry)
        service = ModbusPollerService(
            engine=engine,
            leases=LeaseManager(engine, "bench", 30),
            factory=lambda mid, ent, code, conn, points: device_spec(
                mid, ent, code, conn, points=points, maps_dir=MAPS
            ),
            submit=lambda m: ingest.submit("readings", m, lambda: None),
            metrics=metrics,
            round_s=5,
            max_concurrency=512,
        )
        stop = threading.Event()
        ingest.start()
        thread = threading.Thread(target=lambda: asyncio.run(service.run(stop)), daemon=True)
        thread.start()

        def ok() -> float:
            return (
                registry.get_sample_value("energymon_ingest_modbus_polls_total", {"outcome": "ok"})
                or 0.0
            )

        wait_for(lambda: ok() >= devices * 2, 60, "two rounds of polls (warm-up)")
        lag_before = dict(_lag_buckets(registry))
        t0, polls0 = time.perf_counter(), ok()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(args.seconds)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = time.perf_counter() - t0
        rate = (ok() - polls0) / elapsed
        failed = (
            registry.get_sample_value("energymon_ingest_modbus_polls_total", {"outcome": "failed"})
            or 0.0
        )
        lag_p95 = _window_quantile(lag_before, _lag_buckets(registry), 0.95)
        cpu = ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) / elapsed
        written = (
            registry.get_sample_value(
                "energymon_ingest_readings_written_total", {"source": "modbus"}
            )
            or 0.0
        )
        stop.set()
        thread.join(30)
        ingest.stop()
        engine.dispose()
        dbs.drop(server, name)
        dbs.drop(server, template)
        print(
            f"machine: {os.cpu_count()} cores; {devices} devices = {args.lines} lines x "
            f"{args.units} units, 40 registers each, 1 s interval"
        )
        print(
            f"{'polls/s':>10}{'ceiling':>10}{'ratio':>8}{'lag p95':>10}{'poller CPU':>12}"
            f"{'failed':>8}{'readings written':>18}"
        )
        print(
            f"{rate:>10,.0f}{devices:>10,}{rate / devices:>8.2f}{lag_p95 * 1000:>8.0f}ms"
            f"{cpu * 100:>11.0f}%{failed:>8.0f}{written:>18,.0f}"
        )
    finally:
        for sim in sims:
            sim.terminate()
        private.close()
    return 0


def _distinct_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _lag_buckets(registry: CollectorRegistry) -> list[tuple[float, float]]:
    out = []
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == "energymon_ingest_modbus_schedule_lag_seconds_bucket":
                out.append((float(s.labels["le"]), s.value))
    return sorted(out)


def _window_quantile(
    before: dict[float, float], after: list[tuple[float, float]], q: float
) -> float:
    window = [(le, v - before.get(le, 0.0)) for le, v in after]
    total = window[-1][1]
    for le, count in window:
        if count >= q * total:
            return le
    return float("inf")


if __name__ == "__main__":
    sys.exit(main())
