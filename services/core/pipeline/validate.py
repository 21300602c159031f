"""Validation: messages in, rows and dead letters out. Pure: no I/O, no clock.

Every source goes through :func:`validate_message`: MQTT and HTTP messages carry raw bytes,
which are decoded (services/core/pipeline/decode.py) and read into typed readings
(services/core/pipeline/reading.py); Modbus messages carry typed readings already. Either way each
:class:`Reading` is then checked by :func:`check_reading` against the registry snapshot, so one set
of rules decides what is stored. A bad reading never costs the good readings of the same message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from services.core.domain.units import conversion_factor
from services.core.errors import StorageRejectedError, UnitError
from services.core.pipeline.decode import DecodeError, decode
from services.core.pipeline.index import RegistryIndex
from services.core.pipeline.model import (
    Batch,
    DeadLetter,
    GatewayActivity,
    InboundMessage,
    Reading,
    ReadingRow,
    Reason,
)
from services.core.pipeline.reading import Rejected, encode_readings, read_reading
from services.core.schema.tables import SOURCE_CODES
from services.core.settings import DatabaseSettings, IngestSettings

_SEQ_MAX = 2**63 - 1  # the gateways table keeps seq as a bigint
# A reading set aside whole when it cannot be serialised again (nested beyond the encoder's
# limit): its dead letter keeps this much of the raw message instead.
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


@lru_cache(maxsize=256)
def _factor(unit: str, target: str) -> float:
    return conversion_factor(unit, target)


def _raw_reading_bytes(reading: object, payload: bytes) -> bytes:
    """The rejected reading as JSON (NaN kept as written), or, when it cannot be written back
    (nested too deep), the start of the raw message: a dead letter must never fail to be built."""
    try:
        return json.dumps(reading, default=repr, ensure_ascii=False).encode()
    except (RecursionError, ValueError, TypeError):
        return payload[:_UNSERIALISABLE_EXCERPT_BYTES]


@dataclass(frozen=True, slots=True)
class _Context:
    """What checking the readings of one message needs to know."""

    msg: InboundMessage
    enterprise: str
    gateway: str | None
    received: datetime
    newest: datetime
    oldest: datetime
    source: int
    index: RegistryIndex
    limits: Limits


def validate_message(
    msg: InboundMessage, index: RegistryIndex, limits: Limits, batch: Batch
) -> None:
    """Validate one message into ``batch`` (rows and dead letters)."""
    batch.messages += 1
    doc: Any = None
    if msg.readings is None:
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
    ctx = _context(msg, index, limits, batch)
    if ctx is None:
        return
    if msg.readings is not None:
        batch.readings_received += len(msg.readings)
        for i, reading in enumerate(msg.readings):
            try:
                batch.rows.append(check_reading(reading, ctx))
            except Rejected as rej:
                _reject_reading(ctx, batch, i, rej, encode_readings([reading]))
        return
    raw_readings = _document_readings(doc, ctx, batch)
    if raw_readings is None:
        return
    batch.readings_received += len(raw_readings)
    for i, raw in enumerate(raw_readings):
        try:
            batch.rows.append(check_reading(read_reading(raw), ctx))
        except Rejected as rej:
            _reject_reading(ctx, batch, i, rej, _raw_reading_bytes(raw, msg.payload))


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
    payload = msg.payload if msg.readings is None else encode_readings(msg.readings)
    return DeadLetter(
        msg.source,
        msg.received_at,
        msg.topic,
        msg.enterprise_code,
        msg.gateway_code,
        None,
        reason,
        detail,
        payload[: limits.dead_letter_payload_bytes],
        len(payload),
    )


def _context(
    msg: InboundMessage, index: RegistryIndex, limits: Limits, batch: Batch
) -> _Context | None:
    """The message's enterprise and gateway, checked against the registry (None: rejected)."""
    ent = msg.enterprise_code
    if ent is None or ent not in index.enterprises:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.UNKNOWN_ENTERPRISE,
            f"enterprise {ent!r} is not registered or not active",
        )
        return None
    gw = msg.gateway_code
    if gw is not None and (ent, gw) not in index.gateways:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.UNKNOWN_GATEWAY,
            f"gateway {gw!r} is not registered for enterprise {ent}",
        )
        return None
    received = msg.received_at
    return _Context(
        msg=msg,
        enterprise=ent,
        gateway=gw,
        received=received,
        newest=received + limits.max_future_skew,
        oldest=received - limits.max_age,
        source=SOURCE_CODES[msg.source],
        index=index,
        limits=limits,
    )


def _document_readings(doc: Any, ctx: _Context, batch: Batch) -> list[Any] | None:
    """The readings of a ``{"seq": n, "readings": [...]}`` document (None: rejected whole); the
    gateway's ``seq`` is recorded for its sequence accounting."""
    msg, limits = ctx.msg, ctx.limits
    if type(doc) is not dict or type(doc.get("readings")) is not list:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.INVALID_SCHEMA,
            'expected an object {"readings": [...]} (and an optional integer "seq")',
        )
        return None
    seq = doc.get("seq")
    if seq is not None and (type(seq) is not int or not 0 <= seq <= _SEQ_MAX):
        _reject_whole(
            msg, batch, limits, Reason.INVALID_SCHEMA, "seq must be an integer from 0 to 2^63-1"
        )
        return None
    readings: list[Any] = doc["readings"]
    if len(readings) > limits.max_readings_per_message:
        _reject_whole(
            msg,
            batch,
            limits,
            Reason.TOO_MANY_READINGS,
            f"{len(readings)} readings; the limit is {limits.max_readings_per_message}",
        )
        return None
    if ctx.gateway is not None:
        gateway_id = ctx.index.gateways[(ctx.enterprise, ctx.gateway)]
        act = batch.gateways.get(gateway_id)
        if act is None:
            act = batch.gateways[gateway_id] = GatewayActivity(gateway_id, msg.received_at)
        act.see(msg.received_at, seq)
    return readings


def check_reading(reading: Reading, ctx: _Context) -> ReadingRow:
    """A typed reading to a row, or :class:`Rejected` naming the first rule it breaks: a finite
    value, a meter of the message's enterprise (and gateway), a point of that meter, a unit
    convertible to the point's, a time within the skew and the retention, a plausible value."""
    value = reading.value
    if not math.isfinite(value):
        raise Rejected(Reason.NON_FINITE_VALUE, f"value is {value}")
    meter = ctx.index.meters.get((ctx.enterprise, reading.meter))
    if meter is None:
        if ctx.index.meter_owners.get(reading.meter):
            raise Rejected(
                Reason.METER_ENTERPRISE_MISMATCH,
                f"meter {reading.meter!r} belongs to another enterprise",
            )
        raise Rejected(
            Reason.UNKNOWN_METER, f"meter {reading.meter!r} is not registered (or not active)"
        )
    if ctx.gateway is not None and meter.gateway_code not in (None, ctx.gateway):
        raise Rejected(
            Reason.METER_GATEWAY_MISMATCH,
            f"meter {reading.meter!r} is bound to gateway {meter.gateway_code!r}",
        )
    point = meter.points.get(reading.point)
    if point is None:
        raise Rejected(
            Reason.UNKNOWN_POINT, f"meter {reading.meter!r} has no point {reading.point!r}"
        )
    unit = reading.unit
    if unit is not None and unit != point.unit:
        try:
            value = value * _factor(unit, point.unit)
        except UnitError:
            raise Rejected(
                Reason.INCOMPATIBLE_UNIT, f"unit {unit!r} cannot be converted to {point.unit!r}"
            ) from None
    ts = reading.ts
    if ts > ctx.newest:
        raise Rejected(
            Reason.TIMESTAMP_IN_FUTURE,
            f"ts {ts.isoformat()} is more than {ctx.limits.max_future_skew} ahead of "
            f"receipt at {ctx.received.isoformat()}",
        )
    if ts < ctx.oldest:
        raise Rejected(
            Reason.TIMESTAMP_TOO_OLD,
            f"ts {ts.isoformat()} is older than the retention of {ctx.limits.max_age.days} days",
        )
    if not point.min_value <= value <= point.max_value:
        raise Rejected(
            Reason.VALUE_OUT_OF_RANGE,
            f"{value} {point.unit} is outside the plausible range "
            f"[{point.min_value}, {point.max_value}] of {reading.point}",
        )
    return (point.point_id, ts, float(value), ctx.received, ctx.source)


def _reject_reading(ctx: _Context, batch: Batch, i: int, rej: Rejected, payload: bytes) -> None:
    batch.dead_letters.append(
        DeadLetter(
            ctx.msg.source,
            ctx.received,
            ctx.msg.topic,
            ctx.enterprise,
            ctx.gateway,
            i,
            rej.reason,
            rej.detail,
            payload[: ctx.limits.dead_letter_payload_bytes],
            len(payload),
        )
    )


def _reject_whole(
    msg: InboundMessage, batch: Batch, limits: Limits, reason: Reason, detail: str
) -> None:
    batch.dead_letters.append(whole_message(msg, limits, reason, detail))
