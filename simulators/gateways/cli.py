"""``energymon simulate gateways``: a simulated district publishing over MQTT."""

from __future__ import annotations

import argparse
import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.core.config_doc import help_with_settings
from services.core.lifecycle import stop_on_signals
from services.core.logging import configure_logging, get_logger
from services.core.settings import MqttSettings
from simulators.gateways.faults import Faults, inject
from simulators.gateways.fleet import (
    FleetConfig,
    ReadingStream,
    build_fleet,
    fleet_to_registry_yaml,
)
from simulators.gateways.publisher import FleetPublisher

log = get_logger(__name__)


def add_parser(simulate: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = simulate.add_parser(
        "gateways",
        help="simulated field gateways publishing over MQTT",
        **help_with_settings(MqttSettings),
    )
    p.add_argument(
        "--seed", type=int, default=1, help="the simulated district's seed (default: %(default)s)"
    )
    p.add_argument(
        "--enterprises", type=int, default=6, metavar="N", help="enterprises (default: %(default)s)"
    )
    p.add_argument(
        "--gateways-per-enterprise",
        type=int,
        default=1,
        metavar="N",
        help="gateways of each enterprise (default: %(default)s)",
    )
    p.add_argument(
        "--meters-per-gateway",
        type=int,
        default=3,
        metavar="N",
        help="meters behind each gateway (default: %(default)s)",
    )
    p.add_argument(
        "--data-centres",
        type=int,
        default=2,
        metavar="N",
        help="enterprises that run a data centre site (default: %(default)s)",
    )
    p.add_argument(
        "--interval",
        type=int,
        default=900,
        metavar="SECONDS",
        help="seconds between readings (default: %(default)s)",
    )
    p.add_argument(
        "--readings-per-message",
        type=int,
        default=50,
        metavar="N",
        help="readings batched into one MQTT message (default: %(default)s)",
    )
    p.add_argument("--start", help="ISO start of simulated time (default: a day ago, aligned)")
    p.add_argument(
        "--steps",
        type=int,
        default=96,
        metavar="N",
        help="intervals to publish from --start as fast as --rate allows (default: %(default)s; "
        "0 = only --write-registry)",
    )
    p.add_argument(
        "--history-from",
        metavar="ISO",
        help="store and forward: before the backlog, publish the counters (not power) from this "
        "time until --start, as gateways do after an outage",
    )
    p.add_argument(
        "--history-interval",
        type=int,
        default=900,
        metavar="SECONDS",
        help="seconds between the history's readings (default: %(default)s)",
    )
    p.add_argument("--rate", type=float, default=0, help="max messages/s (0 = unlimited)")
    p.add_argument(
        "--realtime",
        action="store_true",
        help="after the backlog, publish each interval as wall-clock time reaches it",
    )
    p.add_argument(
        "--write-registry",
        metavar="FILE",
        help="write the district YAML for energymon registry load",
    )
    p.add_argument(
        "--duplicate-rate",
        type=float,
        default=0,
        metavar="SHARE",
        help="share of messages sent twice, 0-1",
    )
    p.add_argument(
        "--late-rate",
        type=float,
        default=0,
        metavar="SHARE",
        help="share of messages held back and sent 20 messages later, 0-1",
    )
    p.add_argument(
        "--malformed-rate",
        type=float,
        default=0,
        metavar="SHARE",
        help="an invalid payload inserted before this share of messages, 0-1",
    )
    p.add_argument(
        "--reset-rate",
        type=float,
        default=0,
        metavar="SHARE",
        help="chance per counter and interval that the meter resets to 0, 0-1",
    )
    p.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> FleetConfig:
    return FleetConfig(
        seed=args.seed,
        enterprises=args.enterprises,
        gateways_per_enterprise=args.gateways_per_enterprise,
        meters_per_gateway=args.meters_per_gateway,
        data_centres=args.data_centres,
        interval_s=args.interval,
        reset_rate=args.reset_rate,
    )


def run(args: argparse.Namespace) -> int:
    configure_logging("INFO", "console")
    fleet = build_fleet(config_from(args))
    if args.write_registry:
        Path(args.write_registry).write_text(fleet_to_registry_yaml(fleet), encoding="utf-8")
        print(f"wrote {args.write_registry}")
    if args.steps == 0 and not args.realtime:
        return 0
    if args.start:
        start = datetime.fromisoformat(args.start)
    else:
        now = datetime.now(UTC)
        start = now - timedelta(days=1)
        start -= timedelta(seconds=start.timestamp() % args.interval)
    faults = Faults(args.duplicate_rate, args.late_rate, 20, args.malformed_rate, args.seed)
    history_from = datetime.fromisoformat(args.history_from) if args.history_from else None
    if history_from is not None and history_from >= start:
        history_from = None  # nothing kept before the backlog
    stream = ReadingStream(fleet, history_from or start, args.readings_per_message)
    stop = stop_on_signals() if args.realtime else threading.Event()
    publisher = FleetPublisher(fleet, MqttSettings())
    publisher.connect()
    try:
        # a stop during the backlog ends it there rather than after every message
        if history_from is not None:
            history = itertools.takewhile(
                lambda _msg: not stop.is_set(),
                inject(stream.history(start, args.history_interval), faults),
            )
            sent = publisher.publish(history, rate=args.rate)
            log.info("history published", messages=sent, since=history_from.isoformat())
        backlog = itertools.takewhile(
            lambda _msg: not stop.is_set(), inject(stream.take(args.steps), faults)
        )
        sent = publisher.publish(backlog, rate=args.rate)
        log.info("backlog published", messages=sent, steps=args.steps)
        while args.realtime and not stop.is_set():
            # publish each further interval when wall-clock time reaches it: timestamps are never
            # in the future (ingest would reject them); meanwhile, every second, send again what
            # the broker refused and what ingest asked for (docs/mqtt.md, "Re-send requests")
            lead = (stream.next_ts - datetime.now(UTC)).total_seconds()
            if lead > 0:
                if stop.wait(min(1.0, lead)):
                    break
                publisher.flush_retries()
                continue
            publisher.publish(inject(stream.take(1), faults), rate=args.rate)
    finally:
        publisher.close()
    return 0
