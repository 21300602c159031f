"""``counter_events``: the resets, rollovers, unexplained drops, spikes and bad reads the counter
rules found, kept equal to the latest computation over each range the rollups rewrite (the
alerts' quality rules read them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from services.core.domain.counters import CounterResult, Flag

_QUIET = (Flag.OK, Flag.REPLACEMENT)  # a registered swap is not an anomaly


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
    stored = {
        (ts, kind)
        for ts, kind in conn.execute(
            text(
                "SELECT ts, kind FROM counter_events WHERE point_id = :pid AND ts > :lo "
                "AND ts <= :hi"
            ),
            {"pid": pid, "lo": lo, "hi": hi},
        )
    }
    gone = stored - found.keys()
    if gone:
        conn.execute(
            text("DELETE FROM counter_events WHERE point_id = :pid AND ts = :ts AND kind = :kind"),
            [{"pid": pid, "ts": ts, "kind": kind} for ts, kind in gone],
        )
    new = found.keys() - stored
    if new:
        conn.execute(
            text(
                "INSERT INTO counter_events (point_id, ts, kind, energy) "
                "VALUES (:pid, :ts, :kind, :energy)"
            ),
            [{"pid": pid, "ts": ts, "kind": kind, "energy": found[ts, kind]} for ts, kind in new],
        )
