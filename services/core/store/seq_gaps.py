"""Re-send bookkeeping on ``gateway_seq_gaps``: which gaps to ask gateways for, that they were
asked for, and giving up old ones. The writer opens and fills gaps (``services/core/pipeline``).

Ages are measured on the database's clock, like the ``opened_at`` the writer records.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update

from services.core.schema.tables import enterprises, gateway_seq_gaps, gateways
from services.core.store.sql import seconds_ago

_g = gateway_seq_gaps.c


@dataclass(frozen=True, slots=True)
class GapKey:
    gateway_id: int
    epoch: int
    first_seq: int


@dataclass(frozen=True, slots=True)
class ExpiredGap:
    gateway_id: int
    epoch: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class DueGap:
    gateway_id: int
    enterprise: str  # codes
    gateway: str
    epoch: int
    first_seq: int
    last_seq: int
    requests: int  # re-send requests made so far


def due_gaps(
    conn: Connection, *, after_s: float, every_s: float, max_requests: int, limit: int = 1000
) -> list[DueGap]:
    """Gaps of active gateways' current epochs, open ``after_s`` and not asked for in the last
    ``every_s``, asked for fewer than ``max_requests`` times; oldest first."""
    rows = conn.execute(
        select(
            _g.gateway_id,
            enterprises.c.code.label("enterprise"),
            gateways.c.code.label("gateway"),
            _g.epoch,
            _g.first_seq,
            _g.last_seq,
            _g.resend_requests,
        )
        .join(
            gateways,
            (gateways.c.id == _g.gateway_id) & (gateways.c.seq_epoch == _g.epoch),
        )
        .join(enterprises, enterprises.c.id == gateways.c.enterprise_id)
        .where(
            gateways.c.active,
            enterprises.c.active,
            _g.resend_requests < max_requests,
            _g.opened_at <= seconds_ago(after_s),
            or_(_g.last_request_at.is_(None), _g.last_request_at <= seconds_ago(every_s)),
        )
        .order_by(_g.opened_at, _g.gateway_id, _g.first_seq)
        .limit(limit)
    )
    return [
        DueGap(
            gateway_id=r.gateway_id,
            enterprise=r.enterprise,
            gateway=r.gateway,
            epoch=r.epoch,
            first_seq=r.first_seq,
            last_seq=r.last_seq,
            requests=r.resend_requests,
        )
        for r in rows
    ]


# bound per gap (executemany); the names differ from the columns the statement sets
_MARK = (
    update(gateway_seq_gaps)
    .where(
        _g.gateway_id == bindparam("gap_gateway_id"),
        _g.epoch == bindparam("gap_epoch"),
        _g.first_seq == bindparam("gap_first_seq"),
    )
    .values(resend_requests=_g.resend_requests + 1, last_request_at=func.now())
)


def mark_requested(conn: Connection, *, gaps: Collection[GapKey]) -> None:
    """Count one more re-send request for each of ``gaps``, made now."""
    if not gaps:
        return
    conn.execute(
        _MARK,
        [
            {"gap_gateway_id": g.gateway_id, "gap_epoch": g.epoch, "gap_first_seq": g.first_seq}
            for g in gaps
        ],
    )


def expire_gaps(conn: Connection, *, older_than_s: float) -> list[ExpiredGap]:
    """Delete the gaps opened more than ``older_than_s`` ago; returns them."""
    rows = conn.execute(
        delete(gateway_seq_gaps)
        .where(_g.opened_at < seconds_ago(older_than_s))
        .returning(_g.gateway_id, _g.epoch, _g.first_seq, _g.last_seq)
    )
    return [
        ExpiredGap(
            gateway_id=r.gateway_id, epoch=r.epoch, first_seq=r.first_seq, last_seq=r.last_seq
        )
        for r in rows
    ]
