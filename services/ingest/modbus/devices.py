"""Building a pollable device from a registry meter and its device map.

The reconcile loop asks for every meter's spec every round, so what does not change between
rounds is kept: a maps directory is parsed again only when its files change (checked at most once
a second), and a map's read plan and decoder are built once per set of registered points.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.core.devices.codec import decode
from services.core.devices.dlt645.loader import is_dlt645_map
from services.core.devices.loader import get_map, load_map, shipped_maps
from services.core.devices.model import DataType, DeviceMap, RegisterEntry, WordOrder
from services.core.devices.planner import ReadPlanBlock, plan_reads
from services.ingest.modbus.connection import LineSettings, Transport
from services.ingest.modbus.poller import Decoded, DeviceSpec, ReadBlock

# struct codes of the big-endian (ABCD) layout, read straight out of a block's bytes
_CODES = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
}
_DIR_CHECK_S = 1.0

# (entry, byte offset in the block, unpacker for ABCD or None for the general codec)
_Field = tuple[RegisterEntry, int, Callable[[bytes, int], tuple[Any, ...]] | None]


def decoder(blocks: Sequence[ReadPlanBlock], points: frozenset[str] | None = None) -> Any:
    """Registers of each block -> (point, value, unit) for every register that feeds a point
    (only ``points`` when given: the meter's registered points).

    Each block's registers are packed to bytes once; an ``ABCD`` value is unpacked from them in
    place, any other word order goes through :func:`services.core.devices.codec.decode`. Both give
    the same value (``tests/unit/ingest/modbus/test_devices.py``)."""
    plan: list[tuple[Callable[..., bytes], tuple[_Field, ...]]] = []
    for b in blocks:
        fields = tuple(
            (
                e,
                off * 2,
                struct.Struct(">" + _CODES[e.dtype]).unpack_from
                if e.order == WordOrder.ABCD
                else None,
            )
            for e, off in b.entries
            if e.point is not None and (points is None or e.point in points)
        )
        plan.append((struct.Struct(f">{b.count}H").pack, fields))

    def decode_blocks(registers: Sequence[list[int]]) -> Decoded:
        out: Decoded = []
        for (pack, fields), regs in zip(plan, registers, strict=True):
            try:
                raw = pack(*regs)
            except struct.error as err:
                raise ValueError(f"registers out of range: {err}") from err
            for entry, at, unpack in fields:
                if unpack is None:
                    value = decode(regs[at // 2 : at // 2 + entry.count], entry)
                else:
                    value = float(unpack(raw, at)[0]) * entry.scale + entry.offset
                out.append((str(entry.point), value, entry.unit))
        return out

    return decode_blocks


class _MapsDir:
    """The maps of one directory, parsed again only when a file's name, size or mtime changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checked_at = float("-inf")
        self.signature: tuple[tuple[str, int, int], ...] | None = None
        self.maps: dict[str, DeviceMap] = {}

    def get(self) -> dict[str, DeviceMap]:
        now = time.monotonic()
        if now - self.checked_at < _DIR_CHECK_S:
            return self.maps
        files = sorted(self.path.glob("*.yaml"))
        signature = tuple((p.name, st.st_mtime_ns, st.st_size) for p in files for st in [p.stat()])
        if signature != self.signature:
            maps = {}
            for p in files:
                text = p.read_text(encoding="utf-8")
                if is_dlt645_map(text):  # DL/T 645 maps may share the directory
                    continue
                device = load_map(text)
                maps[device.model] = device
            self.maps, self.signature = maps, signature
        self.checked_at = now
        return self.maps


_lock = threading.Lock()
_dirs: dict[Path, _MapsDir] = {}
# (model, points) -> (the map it was planned from, blocks, decoder)
_plans: dict[
    tuple[str, Path | None, frozenset[str] | None],
    tuple[DeviceMap, tuple[ReadBlock, ...], Any],
] = {}


def _device_map(model: str, maps_dir: Path | None) -> DeviceMap:
    if maps_dir is None:
        return get_map(model)
    with _lock:
        catalog = _dirs.setdefault(maps_dir, _MapsDir(maps_dir))
        extra = catalog.get()
    found = extra.get(model) or shipped_maps().get(model)
    return found if found is not None else get_map(model, maps_dir)  # raises, naming the known


def _plan(
    device: DeviceMap, maps_dir: Path | None, points: frozenset[str] | None
) -> tuple[tuple[ReadBlock, ...], Any]:
    key = (device.model, maps_dir, points)
    with _lock:
        cached = _plans.get(key)
    if cached is not None and cached[0] is device:
        return cached[1], cached[2]
    # read only the blocks that hold a registered point
    blocks = [
        b
        for b in plan_reads(device)
        if any(
            e.point is not None and (points is None or e.point in points) for e, _off in b.entries
        )
    ]
    reads = tuple(ReadBlock(b.function.value, b.start, b.count) for b in blocks)
    decode_blocks = decoder(blocks, points)
    with _lock:
        _plans[key] = (device, reads, decode_blocks)
    return reads, decode_blocks


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
    device = _device_map(str(connection["map"]), maps_dir)
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
    reads, decode_blocks = _plan(device, maps_dir, points)
    return DeviceSpec(
        meter_id=meter_id,
        enterprise=enterprise,
        meter=meter,
        unit_id=int(connection.get("unit_id", 1)),
        line=line,
        interval_s=float(connection.get("interval_s", default_interval_s)),
        blocks=reads,
        decode=decode_blocks,
    )
