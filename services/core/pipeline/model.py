"""Values that flow through the ingest pipeline, whatever the source (MQTT, Modbus, HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why something was dead-lettered. A closed set: it is a metric label."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_JSON = "invalid_json"
    INVALID_SCHEMA = "invalid_schema"
    TOO_MANY_READINGS = "too_many_readings"
    INVALID_TOPIC = "invalid_topic"
    UNKNOWN_ENTERPRISE = "unknown_enterprise"
    UNKNOWN_GATEWAY = "unknown_gateway"
    INVALID_READING = "invalid_reading"
    INVALID_TIMESTAMP = "invalid_timestamp"
    NON_FINITE_VALUE = "non_finite_value"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    UNKNOWN_METER = "unknown_meter"
    METER_ENTERPRISE_MISMATCH = "meter_enterprise_mismatch"
    METER_GATEWAY_MISMATCH = "meter_gateway_mismatch"
    UNKNOWN_POINT = "unknown_point"
    INCOMPATIBLE_UNIT = "incompatible_unit"
    STORAGE_REJECTED = "storage_rejected"
    PROCESSING_ERROR = "processing_error"


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading as its source delivered it, typed: a meter's point at an instant, ``value`` in
    ``unit`` (None: the point's own unit), before the meter's CT/PT multiplier. Every source ends
    up here: MQTT and HTTP readings are read from their JSON, Modbus readings are built directly."""

    meter: str
    point: str
    ts: datetime  # timezone-aware
    value: float
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as received: raw bytes (MQTT, HTTP) or typed readings (Modbus), plus where
    and when it came from."""

    source: str  # mqtt | http | modbus | dlt645
    topic: str | None
    enterprise_code: str | None
    gateway_code: str | None
    payload: bytes
    received_at: datetime
    dup: bool = False
    readings: tuple[Reading, ...] | None = None  # typed already: nothing to decode


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source: str
    received_at: datetime
    topic: str | None
    enterprise_code: str | None
    gateway_code: str | None
    reading_index: int | None
    reason: Reason
    detail: str
    payload: bytes
    payload_size: int


# A row for the readings table: point_id, ts (UTC-aware), value in the point's unit, received_at,
# source code. A plain tuple: millions of them are built per minute.
ReadingRow = tuple[int, datetime, float, datetime, int]


@dataclass(slots=True)
class GatewayActivity:
    """What a batch saw of one gateway: for last-seen and sequence-gap accounting."""

    gateway_id: int
    last_seen: datetime
    seqs: list[int] = field(default_factory=list)  # in arrival order

    def see(self, received_at: datetime, seq: int | None) -> None:
        self.last_seen = max(self.last_seen, received_at)
        if seq is not None:
            self.seqs.append(seq)


@dataclass(slots=True)
class Batch:
    """The result of validating a group of messages, ready to be written in one transaction."""

    rows: list[ReadingRow] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    gateways: dict[int, GatewayActivity] = field(default_factory=dict)
    statuses: list[tuple[int, str, datetime]] = field(default_factory=list)
    messages: int = 0
    readings_received: int = 0

    def extend(self, other: Batch) -> None:
        self.rows.extend(other.rows)
        self.dead_letters.extend(other.dead_letters)
        for gid, act in other.gateways.items():
            mine = self.gateways.get(gid)
            if mine is None:
                self.gateways[gid] = act
            else:
                mine.last_seen = max(mine.last_seen, act.last_seen)
                mine.seqs.extend(act.seqs)
        self.statuses.extend(other.statuses)
        self.messages += other.messages
        self.readings_received += other.readings_received


JsonObject = dict[str, Any]
