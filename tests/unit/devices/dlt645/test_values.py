"""DL/T 645-2007 BCD data formats with implied decimals and sign bit, byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.devices.dlt645.values import (
    ValueFormat,
    decode_value,
    decode_values,
    encode_value,
    parse_format,
)

ENERGY = parse_format("XXXXXX.XX")
COMBINED = parse_format("XXXXXX.XX", signed=True)
VOLTAGE = parse_format("XXX.X")
CURRENT = parse_format("XXX.XXX", signed=True)
POWER = parse_format("XX.XXXX", signed=True)
PF = parse_format("X.XXX", signed=True)
FREQUENCY = parse_format("XX.XX")


def test_formats_know_their_length_and_decimals() -> None:
    assert (ENERGY.length, ENERGY.decimals) == (4, 2)
    assert (CURRENT.length, CURRENT.decimals) == (3, 3)
    assert (PF.length, PF.decimals) == (2, 3)
    with pytest.raises(ValueError, match="3 digits"):
        parse_format("XX.X")
    with pytest.raises(ValueError, match="not X digits"):
        parse_format("NN.NN")


@pytest.mark.parametrize(
    ("wire", "fmt", "value"),
    [
        ("76 17 03 00", ENERGY, 317.76),  # the worked reply's payload
        ("94 23", VOLTAGE, 239.4),  # the worked voltage block's phase C
        ("99 99 99 99", ENERGY, 999999.99),
        ("00 00 00 80", COMBINED, 0.0),  # -0 decodes as 0
        ("01 00 00 80", COMBINED, -0.01),
        ("99 99 99 79", COMBINED, 799999.99),
        ("00 50 81", CURRENT, -15.0),  # XXX.XXX with the sign bit
        ("34 12 00", POWER, 0.1234),
        ("34 12 80", POWER, -0.1234),
        ("50 89", PF, -0.950),
        ("00 50", FREQUENCY, 50.0),
    ],
)
def test_worked_values_decode_exactly(wire: str, fmt: ValueFormat, value: float) -> None:
    raw = bytes.fromhex(wire)
    assert decode_value(raw, fmt) == value
    if raw != bytes.fromhex("00 00 00 80"):
        assert encode_value(value, fmt) == raw


def test_a_nibble_above_nine_is_not_bcd() -> None:
    with pytest.raises(ValueError, match="byte 1AH is not BCD"):
        decode_value(bytes.fromhex("1A 00 00 00"), ENERGY)


@pytest.mark.parametrize(
    ("value", "fmt", "message"),
    [
        (-1.0, ENERGY, "has no sign"),
        (1_000_000.0, ENERGY, "does not fit"),
        (800_000.0, COMBINED, "does not fit"),
    ],
)
def test_values_out_of_range_are_refused(value: float, fmt: ValueFormat, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_value(value, fmt)


def test_a_block_holds_total_then_one_value_per_tariff() -> None:
    wire = b"".join(encode_value(v, ENERGY) for v in (100.0, 10.0, 20.0, 30.0, 40.0))
    assert decode_values(wire, ENERGY) == [100.0, 10.0, 20.0, 30.0, 40.0]
    with pytest.raises(ValueError, match="not a whole number"):
        decode_values(wire[:-1], ENERGY)


FORMATS = [ENERGY, COMBINED, VOLTAGE, CURRENT, POWER, PF, FREQUENCY]


@given(data=st.data())
def test_every_representable_value_round_trips(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(FORMATS))
    raw = data.draw(st.integers(0, fmt.max_raw))
    negative = fmt.signed and raw > 0 and data.draw(st.booleans())
    value = (-raw if negative else raw) / 10**fmt.decimals
    assert decode_value(encode_value(value, fmt), fmt) == value


@given(data=st.data())
def test_every_bcd_byte_string_round_trips(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(FORMATS))
    digits = st.integers(0, 9)
    pairs = data.draw(st.lists(st.tuples(digits, digits), min_size=fmt.length, max_size=fmt.length))
    wire = bytes(h << 4 | lo for h, lo in pairs)
    if fmt.signed and wire[-1] & 0x80:
        wire = wire[:-1] + bytes([wire[-1] & 0x7F])
    value = decode_value(wire, fmt)
    assert encode_value(value, fmt) == wire
