"""Coalescing a map's registers into as few Modbus reads as possible (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.devices.model import DeviceMap, Function, RegisterEntry

MAX_REGISTERS = 125  # the Modbus limit for one read of holding or input registers


@dataclass(frozen=True, slots=True)
class ReadPlanBlock:
    function: Function
    start: int
    count: int
    entries: tuple[tuple[RegisterEntry, int], ...]  # entry and its offset within the block


def plan_reads(
    device: DeviceMap, *, max_gap: int = 16, max_count: int = MAX_REGISTERS
) -> list[ReadPlanBlock]:
    """Blocks per function, in address order. Two registers share a read when the gap between
    them is at most ``max_gap`` registers (reading a few unused ones is cheaper than another
    request), the read stays within ``max_count``, and the gap holds no register the device
    rejects."""
    blocks: list[ReadPlanBlock] = []
    for function in Function:
        entries = sorted(
            (e for e in device.registers if e.function == function), key=lambda e: e.address
        )
        rejects = [(a, b) for f, a, b in device.rejects if f == function]
        current: list[RegisterEntry] = []
        for entry in entries:
            if current:
                start = current[0].address
                end = max(e.end for e in current)
                gap_ok = entry.address - end <= max_gap
                size_ok = entry.end - start <= max_count
                clean = not any(a < entry.address and b > end for a, b in rejects)
                if not (gap_ok and size_ok and clean):
                    blocks.append(_block(function, current))
                    current = []
            current.append(entry)
        if current:
            blocks.append(_block(function, current))
    return blocks


def _block(function: Function, entries: list[RegisterEntry]) -> ReadPlanBlock:
    start = entries[0].address
    end = max(e.end for e in entries)
    return ReadPlanBlock(
        function, start, end - start, tuple((e, e.address - start) for e in entries)
    )
