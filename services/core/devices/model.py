"""Device register maps: what a meter model holds at which Modbus address."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Function(StrEnum):
    HOLDING = "holding"  # function code 3
    INPUT = "input"  # function code 4


class DataType(StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def registers(self) -> int:
        return {"16": 1, "32": 2, "64": 4}[self.value[-2:]]


class WordOrder(StrEnum):
    """Byte layout of a value whose big-endian bytes are A B C D (E F G H for 64 bits).

    ABCD: registers [AB, CD] — big-endian words, most significant word first (Modbus default).
    CDAB: registers [CD, AB] — words swapped ("little-endian word order").
    BADC: registers [BA, DC] — bytes swapped inside each word.
    DCBA: registers [DC, BA] — fully little-endian.
    64-bit values extend the same rule to four words; 16-bit values use only the byte rule.
    """

    ABCD = "ABCD"
    CDAB = "CDAB"
    BADC = "BADC"
    DCBA = "DCBA"


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    name: str
    function: Function
    address: int  # 0-based protocol address
    dtype: DataType
    order: WordOrder = WordOrder.ABCD
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    point: str | None = None  # the platform quantity it feeds, if any

    @property
    def count(self) -> int:
        return self.dtype.registers

    @property
    def end(self) -> int:
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class DeviceMap:
    model: str
    manufacturer: str
    title: str
    datasheet: str
    registers: tuple[RegisterEntry, ...]
    rejects: tuple[tuple[Function, int, int], ...] = ()  # [start, end) ranges never to read

    def fed_points(self) -> dict[str, RegisterEntry]:
        return {r.point: r for r in self.registers if r.point is not None}
