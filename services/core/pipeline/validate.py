"""Validation: raw messages in, rows and dead letters out. Pure: no I/O, no clock.

Every source (MQTT, Modbus, HTTP) goes through :func:`validate_message` (bytes) or
:func:`validate_document` (an already-decoded document), so one set of rules decides what is stored.
A bad reading never costs the good readings of the same message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from services.core.domain.units import conversion_factor
from services.core.errors import StorageRejectedError, UnitError
from services.core.pipeline.decode import MAX_INTEGER_DIGITS, DecodeError, OversizedNumber, decode
from services.core.pipeline.index import RegistryIndex
from services.core.pipeline.model import (
    Batch,
    DeadLetter,
    GatewayActivity,
    InboundMessage,
    ReadingRow,
    Reason,
)
from services.core.schema.tables import SOURCE_CODES
from services.core.settings import DatabaseSettings, IngestSettings

_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: an integer below is not a millisecond timestamp
_EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01
# The same years bound ISO 8601 timestamps, checked on the parsed fields before any conversion
# (converting year 1 at +00:01 to UTC overflows). Longer strings are not timestamps.
_YEAR_MIN, _YEAR_MAX = 2000, 2100
_TS_MAX_CHARS = 64
_SEQ_MAX = 2**63 - 1  # the gateways table keeps seq as a bigint
# A reading set aside whole when it cannot be serialised again (nested beyond orjson's limit, or
# holding an over-long integer): its dead letter keeps this much of the raw message instead.
_UNSERIALISABLE_EXCERPT_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 262_144
    max_readings_per_message: int = 10_000
    max_future_skew: timedelta = timedelta(seconds=300)
    max_age: timedelta = timedelta(days=1825)
    dead_letter_payload_bytes: int = 65_536

    @classmethod
    def from_settings(cls, ingest: IngestSettings, db: DatabaseSettings) -> Limits:
        return cls(
            max_payload_bytes=ingest.max_payload_bytes,
            max_readings_per_message=ingest.max_readings_per_message,
            max_future_skew=timedelta(seconds=ingest.max_future_skew_s),
            max_age=timedelta(days=db.retention_days),
        )


class _Rejected(Exception):  # noqa: N818 - internal control flow, never escapes this module
    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail[:500]  # codes echoed in a detail may be arbitrarily long


@lru_cache(maxsize=256)
def _factor(unit: str, target: str) -> float:
    return conversion_factor(unit, target)


def _reading_bytes(reading: object, payload: bytes) -> bytes:
    """The rejected reading as JSON (NaN kept as written), or, when it cannot be written back
    (nested too deep), the start of the raw message: a dead letter must never fail to be built."""
    try:
        return json.dumps(reading, default=repr, ensure_ascii=False).encode()
    except (RecursionError, ValueError, TypeError):
        return payload[:_UNSERIALISABLE_EXCERPT_BYTES]


def parse_ts(raw: object) -> datetime:
    """ISO 8601 with an offset, or integer epoch milliseconds, to an aware UTC datetime."""
    if type(raw) is str:
        if len(raw) > _TS_MAX_CHARS:
            raise _Rejected(
                Reason.INVALID_TIMESTAMP, f"timestamp of {len(raw)} characters is not ISO 8601"
            )
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise _Rejected(Reason.INVALID_TIMESTAMP, f"not ISO 8601: {raw!r}") from None
        if ts.tzinfo is None:
            raise _Rejected(Reason.INVALID_TIMESTAMP, f"timestamp {raw!r} has no UTC offset")
        if not _YEAR_MIN <= ts.year < _YEAR_MAX:
            raise _Rejected(
                Reason.INVALID_TIMESTAMP,
                f"timestamp {raw!r} is outside the years {_YEAR_MIN}-{_YEAR_MAX}",
            )
        return ts.astimezone(UTC)
    if type(raw) is int:
        if not _EPOCH_MS_MIN <= raw <= _EPOCH_MS_MAX:
            raise _Rejected(
                Reason.INVALID_TIMESTAMP, f"{raw} is not epoch milliseconds between 2000 and 2100"
            )
        return datetime.fromtimestamp(raw / 1000, UTC)
    raise _Rejected(Reason.INVALID_TIMESTAMP, "ts must be an ISO 8601 string or epoch milliseconds")


def validate_message(
    msg: InboundMessage, index: RegistryIndex, limits: Limits, batch: Batch
) -> None:
    """Decode and validate one raw message into ``batch`` (rows and dead letters)."""
    batch.messages += 1
    size = len(msg.payload)
    if size > limits.max_payload_bytes:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.PAYLOAD_TOO_LARGE,
            f"payload is {size} bytes; the limit is {limits.max_payload_bytes}",
        )
        return
    try:
        doc = decode(msg.payload)
    except DecodeError as err:
        _reject_whole(msg, batch, limits, Reason.INVALID_JSON, err.detail)
        return
    validate_document(doc, msg, index, limits, batch)


def validate_guarded(msg: InboundMessage, index: RegistryIndex, limits: Limits) -> Batch:
    """:func:`validate_message` that cannot fail: whatever goes wrong while reading one message
    (a defect, or an input nobody foresaw) dead-letters that message with reason
    ``processing_error`` and the error, and the stream moves on."""
    batch = Batch()
    try:
        validate_message(msg, index, limits, batch)
    except Exception as err:  # noqa: BLE001 - one message must never stop the stream
        batch = Batch(messages=1)
        batch.dead_letters.append(processing_error(msg, limits, err))
    return batch


def processing_error(msg: InboundMessage, limits: Limits, err: BaseException) -> DeadLetter:
    """The dead letter of a message that could not be processed at all (``processing_error``),
    or whose data the database refused (``storage_rejected``)."""
    if isinstance(err, StorageRejectedError):
        return whole_message(msg, limits, Reason.STORAGE_REJECTED, str(err)[:500])
    return whole_message(msg, limits, Reason.PROCESSING_ERROR, f"{type(err).__name__}: {err}"[:500])


def whole_message(msg: InboundMessage, limits: Limits, reason: Reason, detail: str) -> DeadLetter:
    """A dead letter for a whole message, with a bounded excerpt of its payload."""
    return DeadLetter(
        msg.source,
        msg.received_at,
        msg.topic,
        msg.enterprise_code,
        msg.gateway_code,
        None,
        reason,
        detail,
        msg.payload[: limits.dead_letter_payload_bytes],
        len(msg.payload),
    )


def validate_document(
    doc: Any, msg: InboundMessage, index: RegistryIndex, limits: Limits, batch: Batch
) -> None:
    """Validate a decoded ``{"seq": n, "readings": [...]}`` document into ``batch``."""
    ent = msg.enterprise_code
    if ent is None or ent not in index.enterprises:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.UNKNOWN_ENTERPRISE,
            f"enterprise {ent!r} is not registered or not active",
        )
        return
    gw = msg.gateway_code
    gateway_id = None
    if gw is not None:
        gateway_id = index.gateways.get((ent, gw))
        if gateway_id is None:
            _reject_whole(
                msg,
                batch,
                limits,
                Reason.UNKNOWN_GATEWAY,
                f"gateway {gw!r} is not registered for enterprise {ent}",
            )
            return
    if type(doc) is not dict or type(doc.get("readings")) is not list:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.INVALID_SCHEMA,
            'expected an object {"readings": [...]} (and an optional integer "seq")',
        )
        return
    seq = doc.get("seq")
    if seq is not None and (type(seq) is not int or not 0 <= seq <= _SEQ_MAX):
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.INVALID_SCHEMA,
            "seq must be an integer from 0 to 2^63-1",
        )
        return
    readings: list[Any] = doc["readings"]
    if len(readings) > limits.max_readings_per_message:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.TOO_MANY_READINGS,
            f"{len(readings)} readings; the limit is {limits.max_readings_per_message}",
        )
        return
    if gateway_id is not None:
        act = batch.gateways.get(gateway_id)
        if act is None:
            act = batch.gateways[gateway_id] = GatewayActivity(gateway_id, msg.received_at)
        act.see(msg.received_at, seq)
    batch.readings_received += len(readings)
    received = msg.received_at
    ctx = _Context(
        enterprise=ent,
        gateway=gw,
        received=received,
        newest=received + limits.max_future_skew,
        oldest=received - limits.max_age,
        source=SOURCE_CODES[msg.source],
        index=index,
        limits=limits,
    )
    rows = batch.rows
    for i, reading in enumerate(readings):
        try:
            rows.append(_validate_reading(reading, ctx))
        except _Rejected as rej:
            payload = _reading_bytes(reading, msg.payload)
            batch.dead_letters.append(
                DeadLetter(
                    msg.source,
                    received,
                    msg.topic,
                    ent,
                    gw,
                    i,
                    rej.reason,
                    rej.detail,
                    payload[: limits.dead_letter_payload_bytes],
                    len(payload),
                )
            )


@dataclass(frozen=True, slots=True)
class _Context:
    enterprise: str
    gateway: str | None
    received: datetime
    newest: datetime
    oldest: datetime
    source: int
    index: RegistryIndex
    limits: Limits


def _validate_reading(reading: Any, ctx: _Context) -> ReadingRow:  # noqa: PLR0912 - one rule a branch
    """One reading to a row, or :class:`_Rejected` naming the first rule it breaks."""
    if type(reading) is not dict:
        raise _Rejected(Reason.INVALID_READING, "a reading must be an object")
    meter_code = reading.get("meter")
    point_code = reading.get("point")
    value: Any = reading.get("value")
    if type(meter_code) is not str or type(point_code) is not str:
        raise _Rejected(Reason.INVALID_READING, "meter and point must be strings")
    vtype = type(value)
    if vtype is not float and vtype is not int:
        if vtype is OversizedNumber:
            raise _Rejected(
                Reason.VALUE_OUT_OF_RANGE,
                f"value is an integer of {value.digits} digits; at most {MAX_INTEGER_DIGITS}",
            )
        raise _Rejected(Reason.INVALID_READING, "value must be a JSON number")
    if not math.isfinite(value):
        raise _Rejected(Reason.NON_FINITE_VALUE, f"value is {value}")
    meter = ctx.index.meters.get((ctx.enterprise, meter_code))
    if meter is None:
        if ctx.index.meter_owners.get(meter_code):
            raise _Rejected(
                Reason.METER_ENTERPRISE_MISMATCH,
                f"meter {meter_code!r} belongs to another enterprise",
            )
        raise _Rejected(
            Reason.UNKNOWN_METER, f"meter {meter_code!r} is not registered (or not active)"
        )
    if ctx.gateway is not None and meter.gateway_code not in (None, ctx.gateway):
        raise _Rejected(
            Reason.METER_GATEWAY_MISMATCH,
            f"meter {meter_code!r} is bound to gateway {meter.gateway_code!r}",
        )
    point = meter.points.get(point_code)
    if point is None:
        raise _Rejected(Reason.UNKNOWN_POINT, f"meter {meter_code!r} has no point {point_code!r}")
    unit = reading.get("unit")
    if unit is not None and unit != point.unit:
        if type(unit) is not str:
            raise _Rejected(Reason.INVALID_READING, "unit must be a string")
        try:
            value = value * _factor(unit, point.unit)
        except UnitError:
            raise _Rejected(
                Reason.INCOMPATIBLE_UNIT, f"unit {unit!r} cannot be converted to {point.unit!r}"
            ) from None
    ts = parse_ts(reading.get("ts"))
    if ts > ctx.newest:
        raise _Rejected(
            Reason.TIMESTAMP_IN_FUTURE,
            f"ts {ts.isoformat()} is more than {ctx.limits.max_future_skew} ahead of "
            f"receipt at {ctx.received.isoformat()}",
        )
    if ts < ctx.oldest:
        raise _Rejected(
            Reason.TIMESTAMP_TOO_OLD,
            f"ts {ts.isoformat()} is older than the retention of {ctx.limits.max_age.days} days",
        )
    if not point.min_value <= value <= point.max_value:
        raise _Rejected(
            Reason.VALUE_OUT_OF_RANGE,
            f"{value} {point.unit} is outside the plausible range "
            f"[{point.min_value}, {point.max_value}] of {point_code}",
        )
    return (point.point_id, ts, float(value), ctx.received, ctx.source)


def _reject_whole(
    msg: InboundMessage, batch: Batch, limits: Limits, reason: Reason, detail: str
) -> None:
    batch.dead_letters.append(whole_message(msg, limits, reason, detail))
