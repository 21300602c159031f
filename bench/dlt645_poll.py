"""DL/T 645 polling throughput: polls/s per line at simulated RS-485 timing, and polls/s over TCP
serial servers without bus timing.

A poll is one read of forward active total energy (DI 00010000) from one meter: a 20-byte request
(with the four FEH wake-up bytes) and a 24-byte reply. The meters run in a separate process
(``Dlt645Server``: LINES ports, METERS meters behind each); this process polls them through
``Dlt645Line`` (one exchange in flight per line, the poller's transport), each line driven as fast
as it answers.

- ``--baud 2400 9600``: one line with bus timing (11 bits a byte); the ceiling measured in the same
  run is the bytes the exchange really took on the wire at that rate: baud / (11 x bytes).
- ``--tcp-lines N``: N lines without bus timing; the ceiling in the same run is the codec alone
  (encode the request, decode the reply, in this process), which bounds a single Python process.
- ``--dtu-lines N``: N simulated DTUs (in the simulator's process, heartbeat every second) dial a
  ``DtuListener`` in this process and bridge to N serial server ports, no bus timing; the
  ceiling in the same run is N direct TCP lines to the same kind of servers (what the DTU's
  relay hop and the heartbeat filter cost).

Usage: .venv/bin/python bench/dlt645_poll.py [--baud 2400 9600] [--tcp-lines 8] [--dtu-lines 8]
       [--meters 8] [--seconds 10] [--loop uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry

from services.core.devices.dlt645.frame import decode_frame, encode_frame
from services.core.devices.dlt645.loader import shipped_maps
from services.core.devices.dlt645.messages import parse_read_reply, read_reply, read_request
from services.core.devices.dtu import load_models
from services.core.embedded import free_port
from services.ingest.dlt645.dtu_listener import DtuListener, DtuMetrics
from services.ingest.dlt645.line import Dlt645Line, Dlt645LineSettings
from services.ingest.modbus.connection import PollError
from simulators.meters.dlt645_dtu import SimulatedDtu
from simulators.meters.dlt645_meter import Dlt645Meter, addresses
from simulators.meters.dlt645_server import BITS_PER_BYTE, Dlt645Server
from tests.support.services import port_open, wait_for

DI = 0x00010000


def _serve(ports: list[int], meters: int, baud: int | None, dtu_port: int = 0) -> None:
    """Serial servers on ``ports``; with ``dtu_port``, a DTU per port dialling it too."""
    common = shipped_maps()["dlt645-2007-common"]

    async def main() -> None:
        stop = asyncio.Event()
        servers = [
            Dlt645Server(
                [Dlt645Meter(a, common, 20.0, seed=i) for i, a in enumerate(addresses(meters))],
                port=port,
                update_s=1.0,
                baudrate=baud,
            )
            for port in ports
        ]
        dtus = [SimulatedDtu(f"BENCH-{p}", dtu_port, p) for p in ports] if dtu_port else []
        await asyncio.gather(*(s.serve(stop) for s in [*servers, *dtus]))

    asyncio.run(main())


@contextmanager
def _simulator(lines: int, meters: int, baud: int | None, dtu_port: int = 0) -> Iterator[list[int]]:
    """The simulator process serving ``lines`` ports (see _serve) for the block; their ports."""
    ports = [free_port() for _ in range(lines)]
    proc = multiprocessing.Process(target=_serve, args=(ports, meters, baud, dtu_port), daemon=True)
    proc.start()
    for port in ports:
        wait_for(lambda port=port: port_open("127.0.0.1", port), 10, f"simulator :{port}")
    try:
        yield ports
    finally:
        proc.terminate()
        proc.join(5)


async def _poll(ports: list[int], meters: int, seconds: float) -> tuple[int, int]:
    """Polls each serial server line round-robin over its meters for ``seconds``; (ok, failed)."""
    lines = [Dlt645LineSettings(host="127.0.0.1", port=p, timeout_s=2.0) for p in ports]
    return await _drive(lines, meters, seconds)


async def _poll_dtus(lines: int, meters: int, seconds: float) -> tuple[int, int]:
    """Polls through ``lines`` DTUs that dial this process's listener; (ok, failed)."""
    models = list(load_models().values())
    metrics = DtuMetrics(CollectorRegistry())
    listener = DtuListener("127.0.0.1", 0, models, lambda _id: True, metrics)
    await listener.start()
    try:
        with _simulator(lines, meters, None, dtu_port=listener.port) as ports:
            deadline = time.monotonic() + 30  # a loaded machine starts the simulator slowly
            while len(listener.connected()) < lines:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{len(listener.connected())} of {lines} DTUs dialled in")
                await asyncio.sleep(0.05)
            settings = [
                Dlt645LineSettings("dtu", dtu_id=f"BENCH-{p}", dtus=listener, timeout_s=2.0)
                for p in ports
            ]
            return await _drive(settings, meters, seconds)
    finally:
        await listener.close()


async def _drive(lines: list[Dlt645LineSettings], meters: int, seconds: float) -> tuple[int, int]:
    ok = failed = 0
    deadline = time.monotonic() + seconds

    async def drive(settings: Dlt645LineSettings) -> None:
        nonlocal ok, failed
        line = Dlt645Line(settings)
        targets = addresses(meters)
        i = 0
        try:
            while time.monotonic() < deadline:
                try:
                    await line.read(targets[i % meters], DI)
                    ok += 1
                except PollError:
                    failed += 1
                i += 1
        finally:
            line.close()

    await asyncio.gather(*(drive(s) for s in lines))
    return ok, failed


def _codec_rate(seconds: float) -> float:
    """Request encodes + reply decodes per second in this process: the codec alone."""
    address = addresses(1)[0]
    request = read_request(address, DI)
    reply_wire = encode_frame(read_reply(address, DI, bytes(4)))
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        encode_frame(request)
        parse_read_reply(decode_frame(reply_wire), request)
        n += 1
    return n / seconds


def _exchange_bytes() -> int:
    address = addresses(1)[0]
    return len(encode_frame(read_request(address, DI))) + len(
        encode_frame(read_reply(address, DI, bytes(4)))
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baud", type=int, nargs="*", default=[2400, 9600])
    p.add_argument("--tcp-lines", type=int, default=8)
    p.add_argument("--dtu-lines", type=int, default=8)
    p.add_argument("--meters", type=int, default=8, help="meters behind each line")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="uvloop", help="the poller's is uvloop"
    )
    args = p.parse_args()
    run = uvloop.run if args.loop == "uvloop" else asyncio.run
    size = _exchange_bytes()
    print(f"one poll: {size} bytes on the wire (request + reply, with FEH x4 each); {args.loop}")
    for baud in args.baud:
        with _simulator(1, args.meters, baud) as ports:
            ok, failed = run(_poll(ports, args.meters, args.seconds))
        rate = ok / args.seconds
        ceiling = baud / (BITS_PER_BYTE * size)
        print(
            f"{baud} baud, 1 line x {args.meters} meters: {rate:,.1f} polls/s "
            f"(failed {failed}); ceiling {ceiling:,.1f} polls/s; ratio {rate / ceiling:.2f}"
        )
    if args.tcp_lines:
        with _simulator(args.tcp_lines, args.meters, None) as ports:
            started = time.process_time()
            ok, failed = run(_poll(ports, args.meters, args.seconds))
            cpu = time.process_time() - started
        rate = ok / args.seconds
        ceiling = _codec_rate(min(args.seconds, 3.0))
        print(
            f"TCP serial servers, {args.tcp_lines} lines x {args.meters} meters, no bus timing: "
            f"{rate:,.0f} polls/s (failed {failed}), client CPU {cpu / max(ok, 1) * 1000:.2f} "
            f"ms/poll; codec-only ceiling {ceiling:,.0f}/s; ratio {rate / ceiling:.3f}"
        )
    if args.dtu_lines:
        n = args.dtu_lines
        ok, failed = run(_poll_dtus(n, args.meters, args.seconds))
        rate = ok / args.seconds
        with _simulator(n, args.meters, None) as ports:
            direct, _failed = run(_poll(ports, args.meters, args.seconds))
        ceiling = direct / args.seconds
        print(
            f"DTUs dialling in, {n} lines x {args.meters} meters, no bus timing: {rate:,.0f} "
            f"polls/s (failed {failed}); direct TCP, same lines: {ceiling:,.0f} polls/s; "
            f"ratio {rate / ceiling:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
