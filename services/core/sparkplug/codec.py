"""Sparkplug B payloads (Eclipse Sparkplug 3.0.0, section 6.4) to typed values and back.

The wire format is the protobuf schema in ``sparkplug_b.proto`` beside this module, compiled to
``sparkplug_b_pb2`` (scripts/sparkplug-proto); this module is the only one that touches the
generated classes. Decoding keeps what a host application acts on: the payload's ``timestamp`` and
``seq`` (6.4.5), and per metric its name, alias, timestamp, datatype, ``is_historical``,
``is_null`` and a numeric value (6.4.6). Values of other types (strings, bytes, data sets,
templates, arrays) are kept as ``None`` with their datatype: energy data are numbers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from google.protobuf.message import DecodeError as _ProtobufDecodeError

from services.core.sparkplug import sparkplug_b_pb2 as pb


class DataType(IntEnum):
    """Section 6.4.16, the datatypes this platform reads (the others keep their number)."""

    UNKNOWN = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13


# Signed integers travel in the unsigned int_value / long_value fields as two's complement
# (6.4.6); Int8 and Int16 are seen both width-sized (0xFF) and sign-extended to 32 bits
# (0xFFFFFFFF), so the value is masked to the type's width before its sign is restored.
_SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}
_NUMERIC = frozenset(range(DataType.INT8, DataType.BOOLEAN + 1))


class PayloadError(ValueError):
    """The bytes are not a Sparkplug B payload; ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Metric(NamedTuple):
    """One metric as sent (6.4.6). ``datatype`` is None when the message omits it (data messages
    should: the birth declared it). ``value`` is None for a null or non-numeric metric. A named
    tuple, not a frozen dataclass: one is built per metric, and a tuple is built 4x faster."""

    name: str | None
    alias: int | None
    timestamp_ms: int | None
    datatype: int | None
    value: float | None
    is_historical: bool = False
    is_null: bool = False


@dataclass(frozen=True, slots=True)
class Payload:
    """A decoded payload (6.4.5): ``seq`` is None in an NDEATH."""

    timestamp_ms: int | None
    seq: int | None
    metrics: tuple[Metric, ...]


def _signed(raw: int, bits: int) -> int:
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def _value(m: pb.Payload.Metric, datatype: int | None) -> float | None:
    kind = m.WhichOneof("value")
    if kind is None or m.is_null:
        return None
    if kind in {"int_value", "long_value"}:
        raw: int = m.int_value if kind == "int_value" else m.long_value
        bits = _SIGNED_BITS.get(datatype) if datatype is not None else None  # type: ignore[call-overload]
        return float(_signed(raw, bits) if bits is not None else raw)
    if kind == "float_value":
        return float(m.float_value)
    if kind == "double_value":
        return m.double_value
    if kind == "boolean_value":
        return 1.0 if m.boolean_value else 0.0
    return None  # strings, bytes, data sets, templates, extensions: not a reading


def decode_payload(data: bytes) -> Payload:
    """The payload in ``data``; :class:`PayloadError` when it is not one. A metric without a
    datatype keeps None: the caller knows it from the birth (:func:`resign`)."""
    message = pb.Payload()
    try:
        message.ParseFromString(data)
    except _ProtobufDecodeError as err:
        raise PayloadError(f"not a Sparkplug B payload: {err}"[:300]) from None
    # Absent and default read alike for name (""), timestamp (0: 1970, never a reading's) and
    # datatype (0: Unknown); only alias 0 is a real value, so only it is asked HasField. Fewer
    # calls into the runtime per metric: this loop is most of a host's CPU.
    metrics = tuple(
        Metric(
            m.name or None,
            m.alias if m.HasField("alias") else None,
            m.timestamp or None,
            m.datatype or None,
            _value(m, m.datatype or None),
            m.is_historical,
            m.is_null,
        )
        for m in message.metrics
    )
    return Payload(
        message.timestamp if message.HasField("timestamp") else None,
        message.seq if message.HasField("seq") else None,
        metrics,
    )


def resign(value: float, datatype: int) -> float:
    """A data message's integer value reinterpreted with the datatype its birth declared (data
    messages should omit the datatype, 6.4.6, so a negative Int32 first decodes as unsigned)."""
    bits = _SIGNED_BITS.get(datatype)  # type: ignore[call-overload]
    if bits is None or value < 0 or value != int(value):
        return value
    return float(_signed(int(value), bits))


def is_numeric(datatype: int | None) -> bool:
    """Integers, floats and booleans (6.4.16): the datatypes a reading can come from."""
    return datatype in _NUMERIC


# ---- encoding: for the edge node simulator, tests and benchmarks --------------------------------


@dataclass(frozen=True, slots=True)
class MetricOut:
    """A metric to send: with ``name`` in a birth, with ``alias`` only in data (6.4.6)."""

    value: float | bool | str | None
    datatype: int
    name: str | None = None
    alias: int | None = None
    timestamp_ms: int | None = None
    is_historical: bool = False


def _put_value(m: pb.Payload.Metric, value: float | bool | str | None, datatype: int) -> None:
    if value is None:
        m.is_null = True
    elif isinstance(value, str):
        m.string_value = value
    elif datatype == DataType.BOOLEAN:
        m.boolean_value = bool(value)
    elif datatype == DataType.FLOAT:
        m.float_value = struct.unpack("<f", struct.pack("<f", float(value)))[0]
    elif datatype == DataType.DOUBLE:
        m.double_value = float(value)
    elif datatype in (DataType.INT64, DataType.UINT64, DataType.DATETIME):
        m.long_value = int(value) & 0xFFFF_FFFF_FFFF_FFFF
    else:
        m.int_value = int(value) & 0xFFFF_FFFF


def encode_payload(
    metrics: Iterable[MetricOut],
    *,
    timestamp_ms: int,
    seq: int | None,
    with_datatype: bool = True,
) -> bytes:
    """A payload as an edge node builds it (``seq`` None for an NDEATH)."""
    message = pb.Payload()
    message.timestamp = timestamp_ms
    if seq is not None:
        message.seq = seq
    for out in metrics:
        m = message.metrics.add()
        if out.name is not None:
            m.name = out.name
        if out.alias is not None:
            m.alias = out.alias
        if out.timestamp_ms is not None:
            m.timestamp = out.timestamp_ms
        if with_datatype:
            m.datatype = out.datatype
        if out.is_historical:
            m.is_historical = True
        _put_value(m, out.value, out.datatype)
    return bytes(message.SerializeToString())
