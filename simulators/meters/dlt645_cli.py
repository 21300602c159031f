"""``energymon simulate dlt645-meters``: DL/T 645-2007 meters behind one TCP serial server port,
on a serial port (one end of a socat pty pair), or behind a DTU that dials the poller's DTU
listener."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from services.core.config_doc import help_with_settings
from services.core.devices.dlt645.frame import ErrorReason
from services.core.devices.dlt645.loader import shipped_maps
from services.core.logging import configure_logging
from simulators.meters.cli import (
    add_serial_line_options,
    add_simulation_options,
    district_yaml,
    meter_entry,
    serve_until_signalled,
)
from simulators.meters.dlt645_dtu import MetersBehindDtu, SimulatedDtu, packets
from simulators.meters.dlt645_meter import FREEZES_KEPT, Dlt645Meter, addresses, silent_since
from simulators.meters.dlt645_server import DEFAULT_SERIAL_RATE, Dlt645Fault, Dlt645Server
from simulators.meters.server import Serving

MAP = "dlt645-2007-common"


def add_parser(simulate: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = simulate.add_parser(
        "dlt645-meters",
        help="DL/T 645-2007 meters behind one TCP serial server port",
        **help_with_settings(),
    )
    p.add_argument("--port", type=int, default=8899, help="the serial server's TCP port")
    p.add_argument(
        "--serial",
        metavar="DEVICE",
        help="serve on this serial port instead of TCP (e.g. one end of a socat pty pair)",
    )
    add_serial_line_options(p, parity="E")  # DL/T 645 sends an even parity bit
    p.add_argument(
        "--dtu-dial",
        type=int,
        metavar="PORT",
        help="also run a DTU that dials the poller's DTU listener on 127.0.0.1:PORT "
        "(ENERGYMON_MODBUS_DTU_PORT) and bridges to the meters; the registry names the DTU",
    )
    p.add_argument("--dtu-id", default="SIM-DTU-1", help="the DTU's registration id")
    p.add_argument(
        "--dtu-model",
        default="generic-ascii",
        choices=["generic-ascii", "generic-hex"],
        help="the DTU's packets (generic-hex: --dtu-id is 16 hex digits)",
    )
    p.add_argument("--meters", type=int, default=3, help="meters 000000000001..N on the line")
    p.add_argument(
        "--baudrate",
        type=int,
        help="simulate the RS-485 line's timing at this rate (11 bits a byte); default: none",
    )
    add_simulation_options(
        p, "write a district YAML registering these meters (protocol: dlt645), then serve"
    )
    p.add_argument(
        "--silent-meter",
        metavar="ADDRESS",
        action="append",
        default=[],
        help="a meter that never answers (the poller times out)",
    )
    p.add_argument(
        "--outage-days",
        type=int,
        default=0,
        metavar="N",
        help="the meters start N days back (at that local midnight) and run to now before "
        "answering: counters and daily freezes that nobody read (a backfill to make)",
    )
    p.add_argument(
        "--locked-meter",
        metavar="ADDRESS",
        action="append",
        default=[],
        help="a meter that refuses every read (ERR: 密码错/未授权)",
    )
    p.set_defaults(func=run)


def registry(meters: list[Dlt645Meter], args: argparse.Namespace) -> str:
    line: dict[str, object] = {"transport": "tcp", "host": "127.0.0.1", "port": args.port}
    if getattr(args, "dtu_dial", None):
        line = {"transport": "dtu", "dtu_id": args.dtu_id}
    elif getattr(args, "serial", None):
        line = {
            "transport": "serial",
            "serial_port": args.registry_serial_port or args.serial,
            "baudrate": args.baudrate or DEFAULT_SERIAL_RATE,
            "parity": args.parity,
        }
    entries = [
        meter_entry(
            f"DL-{m.address[-3:]}",
            "dlt645",
            args.interval,
            {**line, "address": m.address, "map": MAP, "daily_freeze": True},
            m.data_map.fed_points(),
            serial=m.address,
        )
        for m in meters
    ]
    return district_yaml(args.enterprise, "Simulated DL/T 645 site", "dlt645-site", entries)


def run(args: argparse.Namespace) -> int:
    if args.dtu_dial:
        try:
            packets(args.dtu_model, args.dtu_id)  # a mistake answers before anything starts
        except ValueError as err:
            print(f"energymon simulate dlt645-meters: {err}")
            return 2
    if not 0 <= args.outage_days <= FREEZES_KEPT:
        print(f"energymon simulate dlt645-meters: --outage-days is 0..{FREEZES_KEPT}")
        return 2
    configure_logging("INFO", "console")
    data_map = shipped_maps()[MAP]
    meters = [
        Dlt645Meter(a, data_map, args.base_kw, args.seed + i)
        for i, a in enumerate(addresses(args.meters))
    ]
    if args.outage_days:
        now = datetime.now(UTC)
        for m in meters:
            silent_since(m, args.outage_days, now)
    if args.write_registry:
        Path(args.write_registry).write_text(registry(meters, args), encoding="utf-8")
        print(f"wrote {args.write_registry}")
    server = Dlt645Server(
        meters,
        port=args.port,
        update_s=args.update_s,
        baudrate=args.baudrate,
        serial_port=args.serial or "",
        parity=args.parity,
    )
    for address in args.silent_meter:
        server.faults[address] = Dlt645Fault(silent=True)
    for address in args.locked_meter:
        server.faults[address] = Dlt645Fault(err=ErrorReason.UNAUTHORISED)
    serving: Serving = server
    if args.dtu_dial:
        dtu = SimulatedDtu(args.dtu_id, args.dtu_dial, args.port, model=args.dtu_model)
        serving = MetersBehindDtu(server, dtu)
    print(f"serving {len(meters)} DL/T 645 meters on {serving.address} (Ctrl-C stops)")
    serve_until_signalled(serving)
    return 0
