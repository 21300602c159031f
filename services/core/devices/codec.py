"""Register decoding and encoding for every data type and word order (pure).

``value = raw * scale + offset``. A float NaN or infinity decodes as such; the ingest pipeline
rejects it (``non_finite_value``), so no fake value is ever stored.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from services.core.devices.model import DataType, RegisterEntry, WordOrder

_FORMATS = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.INT64: ">q",
    DataType.UINT64: ">Q",
    DataType.FLOAT32: ">f",
    DataType.FLOAT64: ">d",
}


def _to_wire(big_endian: bytes, order: WordOrder) -> bytes:
    words = [big_endian[i : i + 2] for i in range(0, len(big_endian), 2)]
    if order in (WordOrder.CDAB, WordOrder.DCBA):
        words.reverse()
    if order in (WordOrder.BADC, WordOrder.DCBA):
        words = [w[::-1] for w in words]
    return b"".join(words)


def _from_wire(wire: bytes, order: WordOrder) -> bytes:
    # every order is its own inverse on the word list
    return _to_wire(wire, order)


def registers_to_bytes(registers: Sequence[int]) -> bytes:
    return b"".join(int(r).to_bytes(2, "big") for r in registers)


def decode(registers: Sequence[int], entry: RegisterEntry) -> float:
    """The engineering value of ``entry`` from its ``entry.count`` registers."""
    if len(registers) != entry.count:
        raise ValueError(f"{entry.name}: {len(registers)} registers for {entry.dtype}")
    raw = struct.unpack(
        _FORMATS[entry.dtype], _from_wire(registers_to_bytes(registers), entry.order)
    )[0]
    return float(raw) * entry.scale + entry.offset


def encode(value: float, entry: RegisterEntry) -> list[int]:
    """The registers a device holds for ``value`` (the inverse of :func:`decode`)."""
    raw: float | int = (value - entry.offset) / entry.scale
    if entry.dtype not in (DataType.FLOAT32, DataType.FLOAT64):
        if not math.isfinite(raw):
            raise ValueError(f"{entry.name}: {value} cannot be held by {entry.dtype}")
        raw = round(raw)
    try:
        packed = struct.pack(_FORMATS[entry.dtype], raw)
    except (struct.error, OverflowError) as err:
        raise ValueError(f"{entry.name}: {value} out of range for {entry.dtype}") from err
    wire = _to_wire(packed, entry.order)
    return [int.from_bytes(wire[i : i + 2], "big") for i in range(0, len(wire), 2)]
