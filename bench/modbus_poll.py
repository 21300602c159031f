"""Modbus poller throughput: sustained successful device polls per second, schedule lag p95,
and poller CPU, for N simulated devices (one 40-register map, 1 s interval).

The meters are served from separate processes on loopback (LINES ports x UNITS unit ids: each port
is one line, polled one request at a time as an RS-485 bus would be): by default a lean Modbus TCP
server answering from the simulated meters' register images, so that the bench's two cores measure
the poller rather than the simulator; ``--simulator pymodbus`` serves them with the project's
pymodbus simulator instead. One poller process (this one) runs the real ModbusPollerService with
the ingest engine writing every reading to PostgreSQL. Ceiling in the same run: the polls/s the
configuration asks for (devices / interval). Printed: polls/s, ceiling, ratio, schedule lag p95,
poller CPU (% of a core and per poll) and the simulator's CPU.

Usage: .venv/bin/python bench/modbus_poll.py [--lines 40] [--units 30] [--seconds 20]
       [--simulator lean|pymodbus] [--sim-processes 1|2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import struct
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.devices.loader import load_map
from services.core.devices.model import Function
from services.core.embedded import free_port
from services.core.lifecycle import run_loop
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


def serve(ports: list[int], units: int, simulator: str) -> None:
    """Serve ``units`` meters on each port until terminated."""
    from simulators.meters.device import SimulatedMeter
    from simulators.meters.server import MeterServer

    device = load_map((MAPS / "bench-40.yaml").read_text())

    async def main() -> None:
        stop = asyncio.Event()
        if simulator == "pymodbus":
            servers = [
                MeterServer(
                    [
                        SimulatedMeter(u, device, 20.0, seed=p * 1000 + u)
                        for u in range(1, units + 1)
                    ],
                    port=p,
                    update_s=5,
                )
                for p in ports
            ]
            await asyncio.gather(*(s.serve(stop) for s in servers))
            return
        meters = {
            p: [SimulatedMeter(u, device, 20.0, seed=p * 1000 + u) for u in range(1, units + 1)]
            for p in ports
        }
        lean = LeanModbusServer(meters, update_s=5)
        await lean.serve(ports)

    asyncio.run(main())


class LeanModbusServer:
    """Modbus TCP (function 03 and 04) answered straight from each unit's register image: what a
    meter on another machine costs the poller, without pymodbus' server costs on the bench's cores.

    The same :class:`SimulatedMeter` values as the pymodbus simulator, updated every ``update_s``.
    Anything but a read of holding or input registers gets exception 1; a read beyond the image
    reads zeros, a read of more than 125 registers gets exception 3, an unknown unit gets none.
    """

    def __init__(self, meters: dict[int, list[Any]], update_s: float) -> None:
        self._meters = meters
        self._update_s = update_s
        self._images: dict[tuple[int, int, int], bytes] = {}  # (port, unit, fc) -> big-endian words
        self._update(0.0)

    def _update(self, dt_s: float) -> None:
        now = datetime.now(UTC)
        for port, meters in self._meters.items():
            for m in meters:
                m.advance(now, dt_s)
                for function, words in m.register_image().items():
                    fc = 4 if function == Function.INPUT else 3
                    top = max(words, default=-1) + 1
                    image = b"".join(words.get(a, 0).to_bytes(2, "big") for a in range(top))
                    self._images[(port, m.unit_id, fc)] = image

    async def serve(self, ports: list[int]) -> None:
        loop = asyncio.get_running_loop()
        for port in ports:
            await loop.create_server(lambda port=port: _LeanProtocol(self, port), "127.0.0.1", port)
        while True:
            await asyncio.sleep(self._update_s)
            self._update(self._update_s)

    def answer(self, port: int, frame: bytes) -> bytes | None:
        tid, unit, fc = frame[0:2], frame[6], frame[7]
        image = self._images.get((port, unit, fc))
        if fc not in (3, 4):
            return _exception(tid, unit, fc, 1)
        if image is None:
            return None
        address, count = struct.unpack_from(">HH", frame, 8)
        if not 1 <= count <= 125:
            return _exception(tid, unit, fc, 3)
        data = image[address * 2 : (address + count) * 2].ljust(count * 2, b"\0")
        return tid + struct.pack(">HHBBB", 0, 3 + len(data), unit, fc, len(data)) + data


def _exception(tid: bytes, unit: int, fc: int, code: int) -> bytes:
    return tid + struct.pack(">HHBBB", 0, 3, unit, fc | 0x80, code)


class _LeanProtocol(asyncio.Protocol):
    def __init__(self, server: LeanModbusServer, port: int) -> None:
        self._server = server
        self._port = port
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while len(buffer) >= 7:
            size = 6 + int.from_bytes(buffer[4:6], "big")  # MBAP: length counts unit id + PDU
            if len(buffer) < size:
                break
            frame, buffer = buffer[:size], buffer[size:]
            answer = self._server.answer(self._port, frame) if size >= 12 else None
            if answer is not None and self._transport is not None:
                self._transport.write(answer)
        self._buffer = buffer


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
    parser.add_argument(
        "--simulator",
        choices=("lean", "pymodbus"),
        default="lean",
        help="lean: a minimal Modbus TCP server answering from the meters' register images "
        "(the poller's cost alone); pymodbus: the project's simulator (its CPU shares the cores)",
    )
    args = parser.parse_args()
    devices = args.lines * args.units
    private = Private()
    ports = _distinct_ports(args.lines)
    half = len(ports) // 2 if args.sim_processes == 2 else len(ports)
    sims = [
        multiprocessing.Process(target=serve, args=(chunk, args.units, args.simulator), daemon=True)
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
        thread = threading.Thread(target=lambda: run_loop(service.run(stop)), daemon=True)
        thread.start()

        def ok() -> float:
            return (
                registry.get_sample_value("energymon_ingest_modbus_polls_total", {"outcome": "ok"})
                or 0.0
            )

        wait_for(lambda: ok() >= devices * 2, 60, "two rounds of polls (warm-up)")
        print(f"warm-up done; measuring for {args.seconds:g} s", file=sys.stderr, flush=True)
        # The window starts and ends half-way between two wall-clock slots, so that it holds a
        # whole number of rounds and the rate is not off by a partial round.
        time.sleep((0.5 - time.time() % 1.0) % 1.0)
        lag_before = dict(_lag_buckets(registry))
        t0, polls0 = time.perf_counter(), ok()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        sim0 = sum(_cpu_seconds(sim.pid) for sim in sims)
        time.sleep(max(1, round(args.seconds)) - (time.perf_counter() - t0))
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        sim1 = sum(_cpu_seconds(sim.pid) for sim in sims)
        elapsed = time.perf_counter() - t0
        rate = (ok() - polls0) / elapsed
        failed = (
            registry.get_sample_value("energymon_ingest_modbus_polls_total", {"outcome": "failed"})
            or 0.0
        )
        lag_after = _lag_buckets(registry)
        lag_p50 = _window_quantile(lag_before, lag_after, 0.50)
        lag_p95 = _window_quantile(lag_before, lag_after, 0.95)
        cpu = ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) / elapsed
        sim_cpu = (sim1 - sim0) / elapsed
        polls = rate * elapsed
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
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {devices} "
            f"devices = {args.lines} lines x {args.units} units, 40 registers each, 1 s interval; "
            f"simulator: {args.simulator} in {len(sims)} process(es)"
        )
        print(
            f"{'polls/s':>10}{'ceiling':>10}{'ratio':>8}{'lag p50':>10}{'lag p95':>10}"
            f"{'poller CPU':>12}{'per poll':>10}{'sim CPU':>9}{'failed':>8}{'readings written':>18}"
        )
        print(
            f"{rate:>10,.0f}{devices:>10,}{rate / devices:>8.2f}{lag_p50 * 1000:>8.0f}ms"
            f"{lag_p95 * 1000:>8.0f}ms"
            f"{cpu * 100:>11.0f}%{cpu * elapsed / polls * 1000 if polls else 0:>8.2f}ms"
            f"{sim_cpu * 100:>8.0f}%{failed:>8.0f}{written:>18,.0f}"
        )
        print(
            "lag quantiles are interpolated inside their histogram bucket; share of polls "
            f"started within 200 ms of their slot: {_share_within(lag_before, lag_after, 0.2):.1%}"
        )
    finally:
        for sim in sims:
            sim.terminate()
        private.close()
    return 0


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def _share_within(before: dict[float, float], after: list[tuple[float, float]], le: float) -> float:
    window = {b: v - before.get(b, 0.0) for b, v in after}
    total = window[float("inf")]
    return window[le] / total if total else 0.0


def _window_quantile(
    before: dict[float, float], after: list[tuple[float, float]], q: float
) -> float:
    """The q-quantile of the observations made between two scrapes, interpolated linearly inside
    its bucket as Prometheus' histogram_quantile does (the bucket's bounds are the error bar)."""
    window = [(le, v - before.get(le, 0.0)) for le, v in after]
    total = window[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in window:
        if count >= rank:
            if le == float("inf"):
                return lower
            inside = count - below
            return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = le, count
    return float("inf")


if __name__ == "__main__":
    sys.exit(main())
