"""Building a pollable DL/T 645 device from a registry meter and its data identifier map.

A poll reads, one request each, the data identifiers that feed the meter's registered points; the
decoder turns each answer into the point's value with the item's format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.core.devices.dlt645.frame import address_to_wire
from services.core.devices.dlt645.loader import get_map
from services.core.devices.dlt645.model import DataItem
from services.core.devices.dlt645.values import ValueFormat, decode_value
from services.ingest.dlt645.line import Dlt645LineSettings
from services.ingest.modbus.poller import Decoded, DeviceSpec

DEFAULT_MAP = "dlt645-2007-common"
TRANSPORTS = ("tcp", "serial")  # a TCP serial server, a local serial port (dial-in DTUs: not yet)


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


def _line(transport: str, connection: dict[str, Any]) -> Dlt645LineSettings:
    timeout_s = float(connection.get("timeout_s", 1.0))
    gap_s = float(connection.get("gap_s", 0.0))
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
) -> DeviceSpec:
    """``connection``: address (the meter's 12 digits), map (model id, default
    dlt645-2007-common), interval_s, timeout_s, gap_s; transport tcp (default) with host (default
    127.0.0.1) and port, or serial with serial_port, baudrate and parity (default E)."""
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
    line = _line(transport, connection)
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
    )
