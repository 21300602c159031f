"""Fault injection on a message stream: duplicates, late (out-of-order) and malformed messages.

Deterministic for a seed. Counter resets are a fleet setting (``FleetConfig.reset_rate``) because
they change the meter's state, not the transport.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from simulators.gateways.fleet import GatewayMessage


@dataclass(frozen=True)
class Faults:
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    late_by: int = 20  # a late message is released after this many others
    malformed_rate: float = 0.0
    seed: int = 1

    @property
    def any(self) -> bool:
        return bool(self.duplicate_rate or self.late_rate or self.malformed_rate)


MALFORMED = (
    b"{not json",
    b'{"readings": {"meter": "M-101"}}',
    b'{"readings": [{"meter": "M-101", "point": "power_kw", "ts": "2026-11-23T08:00:00+08:00", '
    b'"value": NaN}]}',
    b'{"readings": [{"meter": "NO-SUCH-METER", "point": "power_kw", '
    b'"ts": "2026-11-23T08:00:00+08:00", "value": 1}]}',
    b'{"readings": [{"meter": "M-101", "point": "energy_import_kwh", '
    b'"ts": "2026-11-23T08:00:00+08:00", "value": 1, "unit": "m3"}]}',
)


def inject(stream: Iterable[GatewayMessage], faults: Faults) -> Iterator[GatewayMessage]:
    if not faults.any:
        yield from stream
        return
    rng = random.Random(faults.seed)
    held: list[tuple[int, GatewayMessage]] = []
    for count, msg in enumerate(stream, start=1):
        if faults.malformed_rate and rng.random() < faults.malformed_rate:
            bad = MALFORMED[rng.randrange(len(MALFORMED))]
            yield GatewayMessage(msg.enterprise, msg.gateway, -1, bad, ())
        if faults.late_rate and rng.random() < faults.late_rate:
            held.append((count + faults.late_by, msg))
        else:
            yield msg
            if faults.duplicate_rate and rng.random() < faults.duplicate_rate:
                yield msg
        due = [m for when, m in held if when <= count]
        held = [(when, m) for when, m in held if when > count]
        yield from due
    yield from (m for _when, m in held)


def readings_of(messages: Iterable[GatewayMessage]) -> set[tuple[str, str, str, str, float]]:
    """The distinct valid readings carried by ``messages`` (what the database should hold)."""
    out = set()
    for m in messages:
        for meter, point, ts, value in m.readings:
            out.add((m.enterprise, meter, point, ts.isoformat(), value))
    return out


def is_valid(msg: GatewayMessage) -> bool:
    try:
        return bool(orjson.loads(msg.payload)) and msg.seq >= 0
    except orjson.JSONDecodeError:
        return False
