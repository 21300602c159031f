"""``counter_events``: the resets, rollovers, unexplained drops, spikes and bad reads the counter
rules found, kept equal to the latest computation over each range the rollups rewrite (the
alerts' quality rules read them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select

from services.core.domain.counters import CounterResult, Flag
from services.core.schema.tables import counter_events

_QUIET = (Flag.OK, Flag.REPLACEMENT)  # a registered swap is not an anomaly
_e = counter_events.c
# bound per event (executemany)
_DELETE = delete(counter_events).where(
    _e.point_id == bindparam("event_point_id"),
    _e.ts == bindparam("event_ts"),
    _e.kind == bindparam("event_kind"),
)

_STORED = select(_e.ts, _e.kind).where(
    _e.point_id == bindparam("pid"), _e.ts > bindparam("lo"), _e.ts <= bindparam("hi")
)
_INSERT = insert(counter_events)


def record_events(
    conn: Connection, pid: int, lo: datetime, hi: datetime, result: CounterResult
) -> None:
    """Keep ``counter_events`` of ``pid`` in (lo, hi] equal to what this computation found;
    an event found again keeps its first ``detected_at``."""
    found: dict[tuple[datetime, str], float | None] = {
        (i.end, i.flag.value): i.energy
        for i in result.intervals
        if i.flag not in _QUIET and lo < i.end <= hi
    }
    found |= {(r.ts, "bad_read"): None for r in result.skipped if lo < r.ts <= hi}
    stored = {(r.ts, r.kind) for r in conn.execute(_STORED, {"pid": pid, "lo": lo, "hi": hi})}
    gone = stored - found.keys()
    if gone:
        conn.execute(
            _DELETE,
            [{"event_point_id": pid, "event_ts": ts, "event_kind": kind} for ts, kind in gone],
        )
    new = found.keys() - stored
    if new:
        conn.execute(
            _INSERT,
            [
                {"point_id": pid, "ts": ts, "kind": kind, "energy": found[ts, kind]}
                for ts, kind in new
            ],
        )
