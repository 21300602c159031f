"""Where a streaming replica stands against its primary, in WAL positions (LSNs as byte offsets).

PostgreSQL's own functions: on the primary ``pg_current_wal_lsn()`` (WAL written so far) and
``pg_current_wal_insert_lsn()`` (WAL inserted so far, at or past the commit record of every
transaction committed before the call); on a standby ``pg_last_wal_replay_lsn()`` (WAL replayed,
i.e. visible to its queries) and ``pg_last_xact_replay_timestamp()`` (the primary's commit time of
the last transaction replayed). An LSN is compared as ``pg_wal_lsn_diff(lsn, '0/0')``: bytes since
the start of WAL, a plain integer. Each read is one statement without a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Float,
    case,
    cast,
    func,
    literal_column,
    select,
)

_ORIGIN: ColumnElement[Any] = literal_column("'0/0'::pg_lsn")


def _offset(lsn: ColumnElement[Any]) -> ColumnElement[int]:
    return cast(func.pg_wal_lsn_diff(lsn, _ORIGIN), BigInteger)


_INSERTED = select(_offset(func.pg_current_wal_insert_lsn()))
_WRITTEN = select(_offset(func.pg_current_wal_lsn()))
_IN_RECOVERY = func.pg_is_in_recovery()
_STANDBY = select(
    cast(_IN_RECOVERY, Boolean),
    # a server that is no standby has replayed nothing: its own position stands in
    case(
        (_IN_RECOVERY, _offset(func.pg_last_wal_replay_lsn())),
        else_=_offset(func.pg_current_wal_lsn()),
    ),
    cast(
        func.extract("epoch", func.clock_timestamp() - func.pg_last_xact_replay_timestamp()),
        Float,
    ),
)


@dataclass(frozen=True, slots=True)
class StandbyPosition:
    """A standby's replay position as it answered."""

    in_recovery: bool  # False: the server is no standby (a primary, or a promoted standby)
    replayed_lsn: int | None  # None: a standby that has replayed nothing since it started
    replay_age_s: float | None  # seconds since the last replayed transaction committed


def inserted_lsn(conn: Connection) -> int:
    """On the primary: a position at or past every transaction committed before this call."""
    return int(conn.execute(_INSERTED).scalar_one())


def written_lsn(conn: Connection) -> int:
    """On the primary: the WAL written so far (what a standby can have received)."""
    return int(conn.execute(_WRITTEN).scalar_one())


def standby_position(conn: Connection) -> StandbyPosition:
    row = conn.execute(_STANDBY).one()
    in_recovery, replayed, age = row
    return StandbyPosition(
        in_recovery=bool(in_recovery),
        replayed_lsn=None if replayed is None else int(replayed),
        replay_age_s=None if age is None else max(0.0, float(age)),
    )
