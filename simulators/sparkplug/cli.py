"""``energymon simulate sparkplug``: one Sparkplug B edge node with metering devices, publishing
births, counters and power every interval, with optional faults (docs/sparkplug.md)."""

from __future__ import annotations

import argparse
import random

from services.core.config_doc import help_with_settings
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.settings import MqttSettings
from simulators.sparkplug.edge_node import EdgeNode, SimMetric

log = get_logger(__name__)


def add_parser(simulate: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = simulate.add_parser(
        "sparkplug",
        help="a simulated Sparkplug B 3.0 edge node with metering devices",
        **help_with_settings(MqttSettings),
    )
    p.add_argument("--group", default="plant-1", help="group_id (default: %(default)s)")
    p.add_argument("--node", default="edge-1", help="edge_node_id (default: %(default)s)")
    p.add_argument(
        "--devices", type=int, default=3, metavar="N", help="metering devices (default: 3)"
    )
    p.add_argument(
        "--interval-s", type=float, default=60.0, help="seconds between data (default: 60)"
    )
    p.add_argument(
        "--primary-host",
        default=None,
        metavar="HOST_ID",
        help="wait for this host's STATE and store and forward while it is offline",
    )
    p.add_argument("--lose-every", type=int, default=0, metavar="N", help="lose every Nth message")
    p.add_argument("--swap-every", type=int, default=0, metavar="N", help="reorder every Nth pair")
    p.add_argument(
        "--alias-change-every",
        type=int,
        default=0,
        metavar="N",
        help="renumber aliases (with a new birth) every Nth interval",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    p.add_argument(
        "--print-registry",
        action="store_true",
        help="print the meters' registry bindings (YAML) and exit",
    )
    p.set_defaults(func=run)


def _devices(n: int) -> dict[str, list[SimMetric]]:
    return {f"meter-{i + 1}": [SimMetric("Energy/Import"), SimMetric("Power")] for i in range(n)}


def registry_yaml(group: str, node: str, devices: int) -> str:
    """The meters that bind this node's devices, for a site's ``meters:`` list."""
    out = []
    for i in range(devices):
        out.append(
            f"""- code: SP-{node}-{i + 1}
  carrier: electricity
  protocol: mqtt
  points: [energy_import_kwh, power_kw]
  connection:
    sparkplug:
      group: {group}
      node: {node}
      device: meter-{i + 1}
      metrics: {{"Energy/Import": {{point: energy_import_kwh, unit: Wh}}, "Power": power_kw}}
"""
        )
    return "".join(out)


def run(args: argparse.Namespace) -> int:
    if args.print_registry:
        print(registry_yaml(args.group, args.node, args.devices), end="")
        return 0
    configure_logging("INFO", "console")
    rng = random.Random(args.seed)
    devices = _devices(args.devices)
    node = EdgeNode(
        MqttSettings(),
        group=args.group,
        node=args.node,
        node_metrics=[],
        devices=devices,
        primary_host=args.primary_host,
    )
    energy_wh = {d: rng.uniform(1e6, 5e6) for d in devices}
    # what the first birth carries, at once or when the primary host says online
    node.current.update({(d, "Energy/Import"): energy_wh[d] for d in devices})
    node.current.update({(d, "Power"): round(rng.uniform(50, 400), 2) for d in devices})
    node.connect()
    if args.primary_host is None:
        node.birth()
    log.info("sparkplug edge node running", group=args.group, node=args.node, devices=len(devices))
    stop = stop_on_signals()
    tick = 0
    while not stop.wait(args.interval_s):
        tick += 1
        if args.alias_change_every and tick % args.alias_change_every == 0:
            node.change_aliases()
            node.birth({(d, "Energy/Import"): energy_wh[d] for d in devices})
        if args.lose_every and tick % args.lose_every == 0:
            node.lose_next()
        if args.swap_every and tick % args.swap_every == 0:
            node.swap_next()
        values: dict[tuple[str | None, str], float] = {}
        for d in devices:
            power_kw = rng.uniform(50, 400)
            energy_wh[d] += power_kw * 1000 * args.interval_s / 3600
            values[(d, "Energy/Import")] = round(energy_wh[d], 1)
            values[(d, "Power")] = round(power_kw, 2)
        node.data(values)
    node.disconnect()
    return 0
