"""Sparkplug B payloads: the wire bytes of the specification's schema, both ways."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.sparkplug.codec import (
    DataType,
    MetricOut,
    PayloadError,
    decode_payload,
    encode_payload,
    resign,
)

# A payload built by hand from the field numbers of 6.4.5 and 6.4.6: timestamp (1) = 1000,
# one metric (2) {name (1) "a", alias (2) 7, datatype (4) 3 = Int32, int_value (10) = -2 as
# two's complement uint32 0xFFFFFFFE}, seq (3) = 5.
_HAND_MADE = bytes.fromhex("08e807120d0a01611007200350feffffff0f1805")


def test_a_hand_made_payload_decodes_field_by_field():
    p = decode_payload(_HAND_MADE)
    assert (p.timestamp_ms, p.seq) == (1000, 5)
    (m,) = p.metrics
    assert (m.name, m.alias, m.datatype, m.value) == ("a", 7, DataType.INT32, -2.0)
    assert not m.is_historical
    assert not m.is_null


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (DataType.INT8, -128),
        (DataType.INT16, -300),
        (DataType.INT32, -(2**31)),
        (DataType.INT64, -(2**63)),
        (DataType.UINT8, 255),
        (DataType.UINT32, 2**32 - 1),
        (DataType.UINT64, 2**53),
        (DataType.DOUBLE, 12345.678),
        (DataType.FLOAT, 0.5),
        (DataType.BOOLEAN, True),
    ],
)
def test_numeric_datatypes_round_trip(datatype, value):
    raw = encode_payload(
        [MetricOut(value, datatype, name="m", alias=1, timestamp_ms=1)], timestamp_ms=1, seq=0
    )
    (m,) = decode_payload(raw).metrics
    assert m.value == float(value)
    assert m.datatype == datatype


def test_int8_sign_extended_to_32_bits_and_width_sized_read_alike():
    wide = bytes.fromhex("1208200150ffffffff0f")  # Int8 -1 as 0xFFFFFFFF
    narrow = bytes.fromhex("1205200150ff01")  # Int8 -1 as 0xFF
    assert decode_payload(wide).metrics[0].value == -1.0
    assert decode_payload(narrow).metrics[0].value == -1.0


def test_a_data_message_without_datatype_is_resigned_with_the_births_type():
    raw = encode_payload(
        [MetricOut(-7, DataType.INT32, alias=3)], timestamp_ms=1, seq=1, with_datatype=False
    )
    (m,) = decode_payload(raw).metrics
    assert m.datatype is None
    assert m.value == 2**32 - 7
    assert resign(m.value, DataType.INT32) == -7.0
    assert resign(3.0, DataType.UINT32) == 3.0


def test_flags_null_historical_and_ndeath_without_seq():
    raw = encode_payload(
        [
            MetricOut(None, DataType.DOUBLE, name="n"),
            MetricOut(2.0, DataType.DOUBLE, name="h", is_historical=True),
            MetricOut("text", DataType.STRING, name="s"),
        ],
        timestamp_ms=5,
        seq=None,
    )
    p = decode_payload(raw)
    assert p.seq is None
    null, hist, text = p.metrics
    assert null.is_null
    assert null.value is None
    assert hist.is_historical
    assert hist.value == 2.0
    assert text.value is None  # not a number: no reading


def test_garbage_is_a_payload_error():
    with pytest.raises(PayloadError):
        decode_payload(b"\xff\xff\xff\xff")


@given(st.floats(allow_nan=False), st.integers(0, 255), st.integers(0, 2**63))
def test_double_metrics_round_trip(value, seq, ts):
    raw = encode_payload([MetricOut(value, DataType.DOUBLE, alias=9)], timestamp_ms=ts, seq=seq)
    p = decode_payload(raw)
    assert (p.seq, p.timestamp_ms) == (seq, ts)
    got = p.metrics[0].value
    assert got == value or (math.isinf(value) and got == value)


@given(st.integers(-(2**31), 2**31 - 1))
def test_int32_round_trips_through_twos_complement(value):
    raw = encode_payload([MetricOut(value, DataType.INT32, name="i")], timestamp_ms=1, seq=0)
    assert decode_payload(raw).metrics[0].value == float(value)
