"""Interval consumption from cumulative counter readings (docs/accounting.md, "Consumption from
cumulative counters").

Between two accepted readings the consumption is ``(later - earlier) x multiplier``. A counter that
goes down is, in this order of checks:

1. a **registered reset/replacement** in between: consumption is the old meter's last stretch
   (``old_final - earlier``) plus the new meter's (``later - new_first``);
2. a **rollover** when the point has a register maximum and the earlier value was in its top
   tenth: ``max - earlier + later``;
3. a **reset** when the new value is near zero (below ``reset_fraction`` of the earlier one):
   consumption restarts from the new value;
4. a **bad read** when a later reading comes back to at least the earlier value: the dip is
   ignored and nothing is re-based on it;
5. otherwise an unexplained drop: nothing is counted for the interval and the series re-bases.

An increase whose implied average power exceeds ``max_power`` (rated power or breaker size) is a
**spike**: if the next reading falls back it was a bad read and is skipped, otherwise the interval
is flagged and excluded. Nothing negative is ever counted. The function is pure and depends only on
the set of readings, so re-running it after late or duplicated data gives the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Flag(StrEnum):
    OK = "ok"
    ROLLOVER = "rollover"
    RESET = "reset"
    REPLACEMENT = "replacement"
    SPIKE_EXCLUDED = "spike_excluded"
    DROP_UNEXPLAINED = "drop_unexplained"


@dataclass(frozen=True, slots=True)
class Reading:
    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Replacement:
    """A registered meter swap or reset at ``ts`` (between two readings)."""

    ts: datetime
    old_final: float
    new_first: float = 0.0


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime
    energy: float  # in the point's unit, multiplier applied; 0 when excluded
    flag: Flag = Flag.OK


@dataclass(frozen=True, slots=True)
class CounterResult:
    intervals: tuple[Interval, ...]
    skipped: tuple[Reading, ...]  # bad reads ignored (dips and spikes that came back)


def normalise(readings: Iterable[Reading]) -> list[Reading]:
    """Sorted by time, one reading per timestamp (the first of equal timestamps by value)."""
    by_ts: dict[datetime, Reading] = {}
    for r in sorted(readings, key=lambda r: (r.ts, r.value)):
        by_ts.setdefault(r.ts, r)
    return list(by_ts.values())


def intervals(
    readings: Iterable[Reading],
    *,
    multiplier: float = 1.0,
    register_max: float | None = None,
    replacements: Sequence[Replacement] = (),
    max_power: float | None = None,
    reset_fraction: float = 0.01,
) -> CounterResult:
    """Consumption per interval between consecutive accepted readings (see the module doc).

    ``max_power`` is in the point's unit per hour (kW for kWh counters), on the primary side.
    """
    series = normalise(readings)
    out: list[Interval] = []
    skipped: list[Reading] = []
    if not series:
        return CounterResult((), ())
    prev = series[0]
    i = 1
    while i < len(series):
        cur = series[i]
        following = series[i + 1 :]
        swap = next((s for s in replacements if prev.ts < s.ts <= cur.ts), None)
        hours = (cur.ts - prev.ts).total_seconds() / 3600
        if swap is not None:
            energy = max(0.0, swap.old_final - prev.value) + max(0.0, cur.value - swap.new_first)
            out.append(Interval(prev.ts, cur.ts, energy * multiplier, Flag.REPLACEMENT))
            prev = cur
        elif cur.value >= prev.value:
            energy = (cur.value - prev.value) * multiplier
            if max_power is not None and hours > 0 and energy / hours > max_power:
                if following and following[0].value < cur.value:
                    skipped.append(cur)  # a high bad read that falls back: ignore it
                    i += 1
                    continue
                out.append(Interval(prev.ts, cur.ts, 0.0, Flag.SPIKE_EXCLUDED))
            else:
                out.append(Interval(prev.ts, cur.ts, energy))
            prev = cur
        elif register_max is not None and prev.value >= 0.9 * register_max:
            energy = (register_max - prev.value + cur.value) * multiplier
            out.append(Interval(prev.ts, cur.ts, energy, Flag.ROLLOVER))
            prev = cur
        elif cur.value < reset_fraction * prev.value:
            out.append(Interval(prev.ts, cur.ts, cur.value * multiplier, Flag.RESET))
            prev = cur
        elif any(r.value >= prev.value for r in following[:3]):
            skipped.append(cur)  # a one-off dip that recovers: never re-base on it
            i += 1
            continue
        else:
            out.append(Interval(prev.ts, cur.ts, 0.0, Flag.DROP_UNEXPLAINED))
            prev = cur
        i += 1
    return CounterResult(tuple(out), tuple(skipped))
