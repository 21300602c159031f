"""Energy from instantaneous power, for meters that have no energy counter.

Consecutive power samples are integrated with the trapezoidal rule: the energy between two
samples is the mean of their powers times the time between them (kW × h = kWh), times the meter's
multiplier. Only imported energy counts: a negative sample (export) counts as zero, so an
interval that crosses zero is counted by its positive end only (a small, conservative error next
to a counter's). Across a gap no longer than ``max_gap_s`` the trapezoid is still the best
estimate and the buckets it covers are marked estimated (``buckets`` does that for any interval
longer than 1.5 reading intervals); across a longer gap nothing is invented: those buckets get no
energy and their completeness shows the missing readings.

A counter is always preferred where a meter has one: it measures what passed, where power
samples only sample it (a one-minute sample misses a 20-second peak).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from services.core.domain.counters import Interval, Reading, normalise

DEFAULT_MAX_GAP_S = 3600.0


def integrate(
    samples: Iterable[Reading], *, multiplier: float = 1.0, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> tuple[Interval, ...]:
    """Imported energy per interval between consecutive samples (kW samples give kWh)."""
    series = normalise(samples)
    out = []
    for prev, cur in pairwise(series):
        seconds = (cur.ts - prev.ts).total_seconds()
        if seconds > max_gap_s:
            continue
        mean_kw = (max(0.0, prev.value) + max(0.0, cur.value)) / 2
        out.append(Interval(prev.ts, cur.ts, mean_kw * seconds / 3600 * multiplier))
    return tuple(out)
