"""Building a pollable DL/T 645 device from a registry meter and its data identifier map.

A poll reads, one request each, the data identifiers that feed the meter's registered points; the
decoder turns each answer into the point's value with the item's format. With ``daily_freeze``
it also reads the meter's daily freezes (freezes.py), stored as readings at their own times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.core.devices.dlt645.frame import address_to_wire
from services.core.devices.dlt645.loader import get_map
from services.core.devices.dlt645.model import DataItem, DataMap
from services.core.devices.dlt645.values import ValueFormat, decode_value
from services.ingest.dlt645.freezes import (
    DEFAULT_BACKFILL,
    FREEZE_FORWARD_DI,
    FREEZE_REVERSE_DI,
    FREEZE_TIME_DI,
    MAX_BACKFILL,
    FreezeReader,
)
from services.ingest.dlt645.line import Dlt645LineSettings, DtuStreams
from services.ingest.modbus.poller import Decoded, DeviceSpec

DEFAULT_MAP = "dlt645-2007-common"
# a TCP serial server, a local serial port, a DTU that dials in (docs/dlt645.md)
TRANSPORTS = ("tcp", "serial", "dtu")


def _reads(items: Sequence[DataItem]) -> tuple[tuple[int, ...], Any]:
    fields: list[tuple[str, ValueFormat, str]] = []
    for item in items:
        if item.point is None or item.format is None:
            continue
        fields.append((item.point, item.format, item.unit))

    def decode(answers: Sequence[bytes]) -> Decoded:
        return [
            (point, decode_value(payload, fmt), unit)
            for (point, fmt, unit), payload in zip(fields, answers, strict=True)
        ]

    return tuple(i.di for i in items), decode


def _freezes(
    data_map: DataMap, connection: dict[str, Any], *, reverse: bool
) -> Callable[[], FreezeReader]:
    """The maker of the meter's daily freeze reader (see freezes.py): the energy blocks' formats
    and unit from the map's 上1次 items (the reverse one when ``reverse``: the meter feeds
    energy_export_kwh), the meter clock's zone, how far back a first contact reads
    (``freeze_backfill``)."""
    items = data_map.by_di()
    when, energy = items.get(FREEZE_TIME_DI), items.get(FREEZE_FORWARD_DI)
    if when is None or energy is None or energy.format is None:
        raise ValueError(
            f"map {data_map.model} has no daily freeze items "
            f"({FREEZE_TIME_DI:08X} and {FREEZE_FORWARD_DI:08X})"
        )
    fmt, unit = energy.format, energy.unit
    tz = ZoneInfo(str(connection.get("clock_tz", "Asia/Shanghai")))
    limit = int(connection.get("freeze_backfill", DEFAULT_BACKFILL))
    if not 1 <= limit <= MAX_BACKFILL:
        raise ValueError(f"freeze_backfill {limit} is not within 1..{MAX_BACKFILL}")
    backwards = items.get(FREEZE_REVERSE_DI) if reverse else None
    reverse_format = backwards.format if backwards is not None else None
    return lambda: FreezeReader(tz, fmt, unit, limit, reverse_format=reverse_format)


def _line(
    transport: str, connection: dict[str, Any], dtus: DtuStreams | None
) -> Dlt645LineSettings:
    timeout_s = float(connection.get("timeout_s", 1.0))
    gap_s = float(connection.get("gap_s", 0.0))
    if transport == "dtu":
        dtu_id = str(connection.get("dtu_id", ""))
        if not dtu_id:
            raise ValueError("a DL/T 645 meter behind a DTU needs connection.dtu_id")
        if dtus is None:
            raise ValueError(f"DTU {dtu_id}: no DTU listener (set ENERGYMON_MODBUS_DTU_PORT)")
        return Dlt645LineSettings("dtu", dtu_id=dtu_id, dtus=dtus, timeout_s=timeout_s, gap_s=gap_s)
    if transport == "serial":
        # no default rate: it is each meter's setting
        return Dlt645LineSettings(
            "serial",
            serial_port=str(connection["serial_port"]),
            baudrate=int(connection["baudrate"]),
            parity=str(connection.get("parity", "E")),
            timeout_s=timeout_s,
            gap_s=gap_s,
        )
    host = str(connection.get("host", "127.0.0.1"))
    return Dlt645LineSettings(
        "tcp", host=host, port=int(connection["port"]), timeout_s=timeout_s, gap_s=gap_s
    )


def device_spec(
    meter_id: int,
    enterprise: str,
    meter: str,
    connection: dict[str, Any],
    *,
    points: frozenset[str] | None = None,
    maps_dir: Path | None = None,
    default_interval_s: float = 60.0,
    dtus: DtuStreams | None = None,
) -> DeviceSpec:
    """``connection``: address (the meter's 12 digits), map (model id, default
    dlt645-2007-common), interval_s, timeout_s, gap_s; transport tcp (default) with host (default
    127.0.0.1) and port, serial with serial_port, baudrate and parity (default E), or dtu with
    dtu_id (the DTU's registration id; its connection is found in ``dtus``);
    daily_freeze (read each new daily freeze and, after an outage, the missed ones: freezes.py)
    with clock_tz (the meter clock's zone, default Asia/Shanghai) and freeze_backfill (how many
    freezes a first contact reads back, default 7)."""
    transport = str(connection.get("transport", "tcp"))
    if transport not in TRANSPORTS:
        raise ValueError(f"DL/T 645 transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
    address = str(connection["address"])
    address_to_wire(address)  # raises on a malformed address, naming it
    data_map = get_map(str(connection.get("map", DEFAULT_MAP)), maps_dir)
    items = [
        i for i in data_map.items if i.point is not None and (points is None or i.point in points)
    ]
    if not items:
        raise ValueError(f"map {data_map.model} feeds none of the points {sorted(points or ())}")
    blocks, decode = _reads(items)
    stamped = None
    if connection.get("daily_freeze") and (points is None or "energy_import_kwh" in points):
        fed = {i.point for i in items}
        stamped = _freezes(data_map, connection, reverse="energy_export_kwh" in fed)
    line = _line(transport, connection, dtus)
    return DeviceSpec(
        meter_id=meter_id,
        enterprise=enterprise,
        meter=meter,
        unit_id=address,
        line=line,
        interval_s=float(connection.get("interval_s", default_interval_s)),
        blocks=blocks,
        decode=decode,
        source="dlt645",
        stamped=stamped,
    )
