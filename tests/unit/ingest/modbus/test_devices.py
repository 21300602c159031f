"""The poller's block decoder gives what the codec gives; a maps directory is re-read on change."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.devices.codec import decode
from services.core.devices.model import DataType, DeviceMap, Function, RegisterEntry, WordOrder
from services.core.devices.planner import plan_reads
from services.ingest.modbus import devices
from services.ingest.modbus.devices import decoder, device_spec

# every type in every order, packed one after the other with a one-register gap between values
_ENTRIES: list[RegisterEntry] = []
_address = 3
for _dtype in DataType:
    for _order in WordOrder:
        _ENTRIES.append(
            RegisterEntry(
                f"{_dtype}-{_order}",
                Function.HOLDING,
                _address,
                _dtype,
                _order,
                scale=0.5,
                offset=-1.0,
                unit="kWh",
                point=f"p-{_dtype}-{_order}",
            )
        )
        _address += _dtype.registers + 1
_MAP = DeviceMap("all-types", "test", "every type and order", "none", tuple(_ENTRIES))
_BLOCKS = plan_reads(_MAP, max_count=40)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@given(st.lists(st.integers(0, 0xFFFF), min_size=_address, max_size=_address))
def test_block_decoder_equals_the_codec_for_every_type_and_order(image: list[int]) -> None:
    registers = [image[b.start : b.start + b.count] for b in _BLOCKS]
    decoded = decoder(_BLOCKS)(registers)
    expected = [
        (str(e.point), decode(regs[off : off + e.count], e), e.unit)
        for b, regs in zip(_BLOCKS, registers, strict=True)
        for e, off in b.entries
    ]
    assert len(decoded) == len(expected) == len(_ENTRIES)
    for (point, value, unit), (point_e, value_e, unit_e) in zip(decoded, expected, strict=True):
        assert (point, unit) == (point_e, unit_e)
        assert _same(value, value_e), point


def test_block_decoder_emits_only_the_registered_points() -> None:
    wanted = frozenset({_ENTRIES[0].point or "", _ENTRIES[-1].point or ""})
    registers = [[0] * b.count for b in _BLOCKS]
    assert [p for p, _v, _u in decoder(_BLOCKS, wanted)(registers)] == [
        _ENTRIES[0].point,
        _ENTRIES[-1].point,
    ]


def test_a_register_beyond_16_bits_is_a_decoding_error() -> None:
    registers = [[0x1_0000] * b.count for b in _BLOCKS]
    with pytest.raises(ValueError, match="out of range"):
        decoder(_BLOCKS)(registers)


_MAP_FILE = """model: {model}
manufacturer: test
title: test meter
datasheet: none
defaults: {{function: holding, type: float32, order: ABCD}}
registers:
  - {{name: energy, address: {address}, unit: kWh, point: energy_import_kwh}}
"""


def test_an_edited_map_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_DIR_CHECK_S", 0.0)
    path = tmp_path / "m.yaml"
    path.write_text(_MAP_FILE.format(model="edited", address=0))
    conn = {"map": "edited", "port": 502, "unit_id": 1}
    first = device_spec(1, "E", "M", conn, maps_dir=tmp_path)
    assert device_spec(1, "E", "M", conn, maps_dir=tmp_path).blocks is first.blocks  # cached
    path.write_text(_MAP_FILE.format(model="edited", address=10) + "\n")
    assert device_spec(1, "E", "M", conn, maps_dir=tmp_path).blocks[0].start == 10
