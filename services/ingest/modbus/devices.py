"""Building a pollable device from a registry meter and its device map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.core.devices.codec import decode
from services.core.devices.loader import get_map
from services.core.devices.model import DeviceMap
from services.core.devices.planner import ReadPlanBlock, plan_reads
from services.ingest.modbus.connection import LineSettings, Transport
from services.ingest.modbus.poller import Decoded, DeviceSpec, ReadBlock


def decoder(blocks: Sequence[ReadPlanBlock], points: frozenset[str] | None = None) -> Any:
    """Registers of each block -> (point, value, unit) for every register that feeds a point
    (only ``points`` when given: the meter's registered points)."""
    fed = [
        [
            (e, off)
            for e, off in b.entries
            if e.point is not None and (points is None or e.point in points)
        ]
        for b in blocks
    ]

    def decode_blocks(registers: Sequence[list[int]]) -> Decoded:
        out: Decoded = []
        for entries, regs in zip(fed, registers, strict=True):
            for entry, off in entries:
                value = decode(regs[off : off + entry.count], entry)
                out.append((str(entry.point), value, entry.unit))
        return out

    return decode_blocks


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
    """``connection``: host, port, unit_id, map (model id), interval_s; transport tcp (default),
    rtu-over-tcp or serial (with serial_port, baudrate, parity); timeout_s."""
    device: DeviceMap = get_map(str(connection["map"]), maps_dir)
    transport = Transport(connection.get("transport", "tcp"))
    line = LineSettings(
        transport=transport,
        host=str(connection.get("host", "127.0.0.1")),
        port=int(connection.get("port", 502)),
        serial_port=str(connection.get("serial_port", "")),
        baudrate=int(connection.get("baudrate", 9600)),
        parity=str(connection.get("parity", "N")),
        timeout_s=float(connection.get("timeout_s", 1.0)),
    )
    # read only the blocks that hold a registered point
    blocks = [
        b
        for b in plan_reads(device)
        if any(
            e.point is not None and (points is None or e.point in points) for e, _off in b.entries
        )
    ]
    return DeviceSpec(
        meter_id=meter_id,
        enterprise=enterprise,
        meter=meter,
        unit_id=int(connection.get("unit_id", 1)),
        line=line,
        interval_s=float(connection.get("interval_s", default_interval_s)),
        blocks=tuple(ReadBlock(b.function.value, b.start, b.count) for b in blocks),
        decode=decoder(blocks, points),
    )
