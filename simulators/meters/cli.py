"""``energymon simulate meters``: Modbus meters serving the shipped maps, over Modbus TCP, RTU
over TCP, or RTU on a serial port."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from pathlib import Path

import yaml
from pymodbus.constants import ExcCodes

from services.core.config_doc import help_with_settings
from services.core.devices.loader import shipped_maps
from services.core.lifecycle import run_loop, stop_on_signals
from services.core.logging import configure_logging
from simulators.meters.device import SimulatedMeter
from simulators.meters.server import Fault, MeterServer, Serving, Transport


def add_parser(simulate: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = simulate.add_parser(
        "meters", help="Modbus meters serving the shipped device maps", **help_with_settings()
    )
    p.add_argument("--port", type=int, default=5020, help="TCP port (Modbus TCP, RTU over TCP)")
    line = p.add_mutually_exclusive_group()
    line.add_argument(
        "--rtu-over-tcp",
        action="store_true",
        help="RTU frames (with CRC) over TCP, as a serial-to-Ethernet converter passes them",
    )
    line.add_argument(
        "--serial",
        metavar="DEVICE",
        help="serve RTU on this serial port instead of TCP (e.g. one end of a socat pty pair)",
    )
    p.add_argument("--baudrate", type=int, default=9600, help="with --serial")
    add_serial_line_options(p, parity="N")
    p.add_argument("--devices", type=int, default=3, help="unit ids 1..N on the port")
    p.add_argument(
        "--map",
        action="append",
        dest="maps",
        help="device map model id (repeat to mix; default: all shipped maps)",
    )
    add_simulation_options(p, "write a district YAML registering these meters, then serve")
    p.add_argument(
        "--silent-unit",
        metavar="UNIT",
        type=int,
        action="append",
        default=[],
        help="a unit that never answers (the client times out)",
    )
    p.add_argument(
        "--busy-unit",
        metavar="UNIT",
        type=int,
        action="append",
        default=[],
        help="a unit that answers exception 6 (device busy)",
    )
    p.add_argument(
        "--slow-unit",
        metavar="UNIT",
        type=int,
        action="append",
        default=[],
        help="a unit that answers after 0.5 s",
    )
    p.add_argument(
        "--garbled-unit",
        metavar="UNIT",
        type=int,
        action="append",
        default=[],
        help="a unit whose answers arrive damaged (RTU: bad CRC; TCP: cut short)",
    )
    p.set_defaults(func=run)


def add_serial_line_options(p: argparse.ArgumentParser, *, parity: str) -> None:
    """--parity and --registry-serial-port, the options of a simulator served on --serial."""
    p.add_argument("--parity", choices=["N", "E", "O"], default=parity, help="with --serial")
    p.add_argument(
        "--registry-serial-port",
        metavar="DEVICE",
        help="the port the poller opens, written by --write-registry with --serial "
        "(the other end of the pty pair or cable; default: --serial)",
    )


def add_simulation_options(p: argparse.ArgumentParser, write_registry_help: str) -> None:
    """The options every meter simulator takes: load, seed, pace, and the registry it writes."""
    p.add_argument(
        "--base-kw", type=float, default=20.0, metavar="KW", help="mean secondary-side load, kW"
    )
    p.add_argument("--seed", type=int, default=1, help="the simulated values' seed")
    p.add_argument(
        "--update-s", type=float, default=1.0, metavar="SECONDS", help="how often values change"
    )
    p.add_argument(
        "--enterprise", default="91120111MA07N9RT25", help="enterprise code for --write-registry"
    )
    p.add_argument("--interval", type=int, default=60, help="poll interval for --write-registry")
    p.add_argument("--write-registry", metavar="FILE", help=write_registry_help)


def meters_from(args: argparse.Namespace) -> list[SimulatedMeter]:
    maps = shipped_maps()
    models = args.maps or sorted(maps)
    return [
        SimulatedMeter(u, maps[models[(u - 1) % len(models)]], args.base_kw, args.seed + u)
        for u in range(1, args.devices + 1)
    ]


def transport_of(args: argparse.Namespace) -> Transport:
    if args.serial:
        return "serial"
    return "rtu-over-tcp" if args.rtu_over_tcp else "tcp"


def line_of(args: argparse.Namespace) -> dict[str, object]:
    """The registry's connection settings that reach this simulator's line."""
    transport = transport_of(args)
    if transport == "serial":
        return {
            "transport": transport,
            "serial_port": args.registry_serial_port or args.serial,
            "baudrate": args.baudrate,
            "parity": args.parity,
        }
    return {"transport": transport, "host": "127.0.0.1", "port": args.port}


def registry(meters: list[SimulatedMeter], args: argparse.Namespace) -> str:
    entries = [
        meter_entry(
            f"MB-{m.unit_id:03d}",
            "modbus",
            args.interval,
            {**line_of(args), "unit_id": m.unit_id, "map": m.device.model},
            m.device.fed_points(),
        )
        for m in meters
    ]
    return district_yaml(args.enterprise, "Simulated Modbus site", "modbus-site", entries)


def meter_entry(
    code: str,
    protocol: str,
    interval_s: int,
    connection: dict[str, object],
    points: Iterable[str],
    **extra: object,
) -> dict[str, object]:
    """One electricity meter of a simulator's registry, polled every ``interval_s``."""
    return {
        "code": code,
        "carrier": "electricity",
        "protocol": protocol,
        **extra,
        "interval_s": interval_s,
        "connection": {**connection, "interval_s": interval_s},
        "points": sorted(points),
    }


def district_yaml(enterprise: str, name: str, site: str, meters: list[dict[str, object]]) -> str:
    """A district YAML with one enterprise and one industrial site holding ``meters``."""
    doc = {
        "enterprises": [
            {
                "code": enterprise,
                "name": name,
                "industry": "C33",
                "town": "Xinkou",
                "sites": [{"code": site, "kind": "industrial", "meters": meters}],
            }
        ]
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def run(args: argparse.Namespace) -> int:
    configure_logging("INFO", "console")
    meters = meters_from(args)
    if args.write_registry:
        Path(args.write_registry).write_text(registry(meters, args), encoding="utf-8")
        print(f"wrote {args.write_registry}")
    server = MeterServer(
        meters,
        port=args.port,
        update_s=args.update_s,
        transport=transport_of(args),
        serial_port=args.serial or "",
        baudrate=args.baudrate,
        parity=args.parity,
    )
    for u in args.silent_unit:
        server.faults[u] = Fault(silent=True)
    for u in args.busy_unit:
        server.faults[u] = Fault(exception=ExcCodes.DEVICE_BUSY)
    for u in args.slow_unit:
        server.faults[u] = Fault(delay_s=0.5)
    for u in args.garbled_unit:
        server.faults[u] = Fault(garbled=True)
    print(f"serving {len(meters)} meters on {server.address} (Ctrl-C stops)")
    serve_until_signalled(server)
    return 0


def serve_until_signalled(server: Serving) -> None:
    """Run a simulator until SIGINT or SIGTERM."""
    stop = stop_on_signals()
    done = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stopped() -> None:
            loop.remove_reader(stop.fileno())
            done.set()

        loop.add_reader(stop.fileno(), stopped)  # readable once a signal set the stop event
        try:
            await server.serve(done)
        finally:
            loop.remove_reader(stop.fileno())

    run_loop(main())
