"""How far behind the rollups are: the age of the oldest range of new readings not yet rolled up.

Ingest marks each range in ``rollup_dirty`` in the transaction that stores its readings, and the
accounting service deletes it in the transaction that rewrites its buckets; so the oldest row is
the oldest data no figure counts yet, and its age is how stale the figures may be. A range a pass
is working on still counts until the pass commits. The age is taken on the database's clock (no
skew between hosts) and the row is found by the primary key (ranges are numbered as they are
marked): one index probe, however long the backlog.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Float, cast, func, select

from services.core.schema.tables import rollup_dirty

_OLDEST = (
    select(cast(func.extract("epoch", func.now() - rollup_dirty.c.marked_at), Float))
    .order_by(rollup_dirty.c.id)
    .limit(1)
)


def rollup_lag_s(conn: Connection) -> float | None:
    """Seconds since the oldest pending range was marked; None when nothing is pending."""
    age = conn.execute(_OLDEST).scalar()
    return None if age is None else max(0.0, float(age))


@dataclass(frozen=True, slots=True)
class LagSeen:
    """A lag as read at ``at`` (a monotonic clock): what was pending then keeps ageing."""

    lag_s: float | None  # None: nothing was pending
    at: float

    def lag_now(self, now: float) -> float | None:
        return None if self.lag_s is None else self.lag_s + max(0.0, now - self.at)
