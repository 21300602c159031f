"""Reading a JSON reading into a typed :class:`Reading`, and writing typed readings back as JSON.

The shape and the types of each field are checked here (an object, string codes, a finite JSON
number, an ISO 8601 timestamp with an offset or epoch milliseconds, a string unit); what the
registry says about them is checked by validation (services/core/pipeline/validate.py), the same
way for every source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from services.core.pipeline.decode import MAX_INTEGER_DIGITS, OversizedNumber
from services.core.pipeline.model import Reading, Reason

_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: an integer below is not a millisecond timestamp
_EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01
# The same years bound ISO 8601 timestamps, checked on the parsed fields before any conversion
# (converting year 1 at +00:01 to UTC overflows). Longer strings are not timestamps.
_YEAR_MIN, _YEAR_MAX = 2000, 2100
_TS_MAX_CHARS = 64


class Rejected(Exception):  # noqa: N818 - control flow inside the pipeline, never escapes it
    """A reading (or message) breaks the rule ``reason``; ``detail`` says how."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail[:500]  # codes echoed in a detail may be arbitrarily long


def read_reading(raw: Any) -> Reading:
    """A decoded JSON reading (docs/mqtt.md) as a :class:`Reading`, or :class:`Rejected`."""
    if type(raw) is not dict:
        raise Rejected(Reason.INVALID_READING, "a reading must be an object")
    meter, point = raw.get("meter"), raw.get("point")
    value: Any = raw.get("value")
    if type(meter) is not str or type(point) is not str:
        raise Rejected(Reason.INVALID_READING, "meter and point must be strings")
    vtype = type(value)
    if vtype is not float and vtype is not int:
        if vtype is OversizedNumber:
            raise Rejected(
                Reason.VALUE_OUT_OF_RANGE,
                f"value is an integer of {value.digits} digits; at most {MAX_INTEGER_DIGITS}",
            )
        raise Rejected(Reason.INVALID_READING, "value must be a JSON number")
    unit = raw.get("unit")
    if unit is not None and type(unit) is not str:
        raise Rejected(Reason.INVALID_READING, "unit must be a string")
    return Reading(meter, point, parse_ts(raw.get("ts")), value, unit)


def parse_ts(raw: object) -> datetime:
    """ISO 8601 with an offset, or integer epoch milliseconds, to an aware UTC datetime."""
    if type(raw) is str:
        if len(raw) > _TS_MAX_CHARS:
            raise Rejected(
                Reason.INVALID_TIMESTAMP, f"timestamp of {len(raw)} characters is not ISO 8601"
            )
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise Rejected(Reason.INVALID_TIMESTAMP, f"not ISO 8601: {raw!r}") from None
        if ts.tzinfo is None:
            raise Rejected(Reason.INVALID_TIMESTAMP, f"timestamp {raw!r} has no UTC offset")
        if not _YEAR_MIN <= ts.year < _YEAR_MAX:
            raise Rejected(
                Reason.INVALID_TIMESTAMP,
                f"timestamp {raw!r} is outside the years {_YEAR_MIN}-{_YEAR_MAX}",
            )
        return ts.astimezone(UTC)
    if type(raw) is int:
        if not _EPOCH_MS_MIN <= raw <= _EPOCH_MS_MAX:
            raise Rejected(
                Reason.INVALID_TIMESTAMP, f"{raw} is not epoch milliseconds between 2000 and 2100"
            )
        return datetime.fromtimestamp(raw / 1000, UTC)
    raise Rejected(Reason.INVALID_TIMESTAMP, "ts must be an ISO 8601 string or epoch milliseconds")


def reading_json(reading: Reading) -> dict[str, Any]:
    """A typed reading as docs/mqtt.md writes it."""
    out: dict[str, Any] = {
        "meter": reading.meter,
        "point": reading.point,
        "ts": reading.ts.isoformat(),
        "value": reading.value,
    }
    if reading.unit is not None:
        out["unit"] = reading.unit
    return out


def encode_readings(readings: Iterable[Reading]) -> bytes:
    """Typed readings as a readings message payload (for the spool and dead letters); a NaN
    stays NaN (orjson would write null)."""
    return json.dumps({"readings": [reading_json(r) for r in readings]}).encode()
