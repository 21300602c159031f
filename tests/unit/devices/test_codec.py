"""Register decoding, byte for byte, and round trips for every type and word order."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.devices.codec import decode, encode
from services.core.devices.model import DataType, Function, RegisterEntry, WordOrder


def _e(
    dtype: DataType, order: WordOrder = WordOrder.ABCD, scale: float = 1.0, offset: float = 0.0
) -> RegisterEntry:
    return RegisterEntry("x", Function.HOLDING, 0, dtype, order, scale, offset)


@pytest.mark.parametrize(
    ("registers", "dtype", "order", "expected"),
    [
        # float32 230.0 = 0x43660000 (the SDM630's phase voltage, big-endian words)
        ([0x4366, 0x0000], DataType.FLOAT32, WordOrder.ABCD, 230.0),
        ([0x0000, 0x4366], DataType.FLOAT32, WordOrder.CDAB, 230.0),
        ([0x6643, 0x0000], DataType.FLOAT32, WordOrder.BADC, 230.0),
        ([0x0000, 0x6643], DataType.FLOAT32, WordOrder.DCBA, 230.0),
        # float32 50.0 Hz = 0x42480000
        ([0x4248, 0x0000], DataType.FLOAT32, WordOrder.ABCD, 50.0),
        # int32 -2 = 0xFFFFFFFE
        ([0xFFFF, 0xFFFE], DataType.INT32, WordOrder.ABCD, -2.0),
        ([0xFFFE, 0xFFFF], DataType.INT32, WordOrder.CDAB, -2.0),
        ([0xFEFF, 0xFFFF], DataType.INT32, WordOrder.DCBA, -2.0),
        # uint32 123456 = 0x0001E240
        ([0x0001, 0xE240], DataType.UINT32, WordOrder.ABCD, 123456.0),
        ([0xE240, 0x0001], DataType.UINT32, WordOrder.CDAB, 123456.0),
        ([0x0100, 0x40E2], DataType.UINT32, WordOrder.BADC, 123456.0),
        # int16 / uint16, and the byte swap
        ([0xFF38], DataType.INT16, WordOrder.ABCD, -200.0),
        ([0x38FF], DataType.INT16, WordOrder.BADC, -200.0),
        ([0xFF38], DataType.UINT16, WordOrder.ABCD, 65336.0),
        # int64 12345678901 Wh = 0x00000002DFDC1C35 (an iEM3155 energy register)
        ([0x0000, 0x0002, 0xDFDC, 0x1C35], DataType.INT64, WordOrder.ABCD, 12345678901.0),
        ([0x1C35, 0xDFDC, 0x0002, 0x0000], DataType.INT64, WordOrder.CDAB, 12345678901.0),
        ([0x0000, 0x0200, 0xDCDF, 0x351C], DataType.INT64, WordOrder.BADC, 12345678901.0),
        ([0x351C, 0xDCDF, 0x0200, 0x0000], DataType.INT64, WordOrder.DCBA, 12345678901.0),
        ([0x0020, 0x0000, 0x0000, 0x0000], DataType.UINT64, WordOrder.ABCD, float(2**53)),
        # float64 1.5 = 0x3FF8000000000000
        ([0x3FF8, 0, 0, 0], DataType.FLOAT64, WordOrder.ABCD, 1.5),
    ],
)
def test_worked_examples_decode_exactly(
    registers: list[int], dtype: DataType, order: WordOrder, expected: float
) -> None:
    entry = _e(dtype, order)
    assert decode(registers, entry) == expected
    assert encode(expected, entry) == registers


def test_scale_and_offset_give_engineering_units() -> None:
    # Acrel: total active energy as a count of 0.01 kWh
    assert decode([0x0001, 0xE240], _e(DataType.UINT32, scale=0.01)) == pytest.approx(1234.56)
    assert decode([100], _e(DataType.INT16, scale=0.5, offset=-40)) == 10.0


def test_a_float_nan_decodes_as_nan_so_ingest_can_reject_it() -> None:
    assert math.isnan(decode([0x7FC0, 0x0000], _e(DataType.FLOAT32)))
    assert math.isinf(decode([0x7F80, 0x0000], _e(DataType.FLOAT32)))


def test_a_value_outside_the_type_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode(70000, _e(DataType.UINT16))
    with pytest.raises(ValueError, match="out of range"):
        encode(-1, _e(DataType.UINT32))


def test_the_wrong_number_of_registers_is_refused() -> None:
    with pytest.raises(ValueError, match="1 registers"):
        decode([1], _e(DataType.FLOAT32))


_RANGES = {
    DataType.INT16: st.integers(-(2**15), 2**15 - 1),
    DataType.UINT16: st.integers(0, 2**16 - 1),
    DataType.INT32: st.integers(-(2**31), 2**31 - 1),
    DataType.UINT32: st.integers(0, 2**32 - 1),
    DataType.INT64: st.integers(-(2**53), 2**53),  # exactly representable as float
    DataType.UINT64: st.integers(0, 2**53),
    DataType.FLOAT32: st.floats(width=32, allow_nan=False),
    DataType.FLOAT64: st.floats(allow_nan=False),
}


@pytest.mark.parametrize("dtype", list(DataType))
@pytest.mark.parametrize("order", list(WordOrder))
def test_decode_inverts_encode_for_every_type_and_order(dtype: DataType, order: WordOrder) -> None:
    entry = _e(dtype, order)

    @given(_RANGES[dtype])
    def roundtrip(value: float) -> None:
        registers = encode(value, entry)
        assert len(registers) == dtype.registers
        assert all(0 <= r <= 0xFFFF for r in registers)
        assert decode(registers, entry) == value

    roundtrip()


@pytest.mark.parametrize("order", list(WordOrder))
def test_nan_survives_a_round_trip_in_every_order(order: WordOrder) -> None:
    for dtype in (DataType.FLOAT32, DataType.FLOAT64):
        assert math.isnan(decode(encode(math.nan, _e(dtype, order)), _e(dtype, order)))


def test_abcd_is_plain_big_endian() -> None:
    packed = struct.pack(">f", 1.25)
    assert encode(1.25, _e(DataType.FLOAT32)) == [
        int.from_bytes(packed[:2], "big"),
        int.from_bytes(packed[2:], "big"),
    ]
