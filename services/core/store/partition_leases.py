"""MQTT ingest partitions and the replicas holding them: ``ingest_partitions`` and
``ingest_members``, the statements behind ``services/ingest/mqtt/leases.py``.

A lease runs until ``expires_at`` on the database's clock; a replica is live while its heartbeat
is younger than the lease time to live.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, delete, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from services.core.schema.tables import ingest_members, ingest_partitions
from services.core.store.sql import is_any, seconds_ago, seconds_ahead

_p = ingest_partitions.c
_m = ingest_members.c


@dataclass(frozen=True, slots=True)
class Member:
    """A replica's row: the host and process that last heartbeated under its name."""

    host: str
    pid: int
    live: bool  # heartbeat younger than the time to live


@dataclass(frozen=True, slots=True)
class Claimed:
    partition: int
    previous_owner: str | None  # whose lease had expired (None: the partition was free)


def ensure_partitions(conn: Connection, *, count: int) -> None:
    """Partitions 0 .. count - 1 exist (as free ones if new)."""
    conn.execute(
        insert(ingest_partitions)
        .from_select(["partition"], select(func.generate_series(0, count - 1)))
        .on_conflict_do_nothing(index_elements=["partition"])
    )


def member(conn: Connection, *, replica: str, ttl_s: float) -> Member | None:
    row = conn.execute(
        select(_m.host, _m.pid, (_m.heartbeat_at > seconds_ago(ttl_s)).label("live")).where(
            _m.replica == replica
        )
    ).first()
    return None if row is None else Member(host=row.host, pid=row.pid, live=row.live)


def heartbeat(conn: Connection, *, replica: str, host: str, pid: int, held: str) -> None:
    """``replica`` (this host and process) is alive, holding ``held`` (shown to operators)."""
    stmt = insert(ingest_members).values(
        replica=replica, host=host, pid=pid, heartbeat_at=func.now(), partitions=held
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["replica"],
            set_={
                "host": stmt.excluded.host,
                "pid": stmt.excluded.pid,
                "heartbeat_at": func.now(),
                "partitions": stmt.excluded.partitions,
            },
        )
    )


def live_replicas(conn: Connection, *, ttl_s: float) -> int:
    return int(
        conn.execute(select(func.count()).where(_m.heartbeat_at > seconds_ago(ttl_s))).scalar_one()
    )


def renew(conn: Connection, *, replica: str, partitions: Collection[int], ttl_s: float) -> set[int]:
    """Extend the leases of ``partitions`` that ``replica`` still holds; returns those."""
    rows = conn.execute(
        update(ingest_partitions)
        .where(_p.owner == replica, is_any(_p.partition, partitions))
        .values(expires_at=seconds_ahead(ttl_s))
        .returning(_p.partition)
    )
    return {int(p) for p in rows.scalars()}


def claim(
    conn: Connection,
    *,
    replica: str,
    ttl_s: float,
    limit: int,
    count: int,
    retired: bool,
    reclaim: bool,
    held: Collection[int],
) -> list[Claimed]:
    """Take up to ``limit`` free or expired partitions, lowest first: below ``count``, or (with
    ``retired``) at or above it. ``reclaim``: leases recorded under ``replica`` are taken at
    once. Partitions another session is claiming right now are skipped, not waited for."""
    ours = _p.owner == replica if reclaim else false()
    numbered = _p.partition >= count if retired else _p.partition < count
    candidates = (
        select(_p.partition, _p.owner)
        .where(
            or_(_p.owner.is_(None), _p.expires_at <= func.now(), ours),
            numbered,
            ~is_any(_p.partition, held),
        )
        .order_by(_p.partition)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("candidates")
    )
    rows = conn.execute(
        update(ingest_partitions)
        .where(_p.partition == candidates.c.partition)
        .values(owner=replica, expires_at=seconds_ahead(ttl_s), acquired_at=func.now())
        .returning(_p.partition, candidates.c.owner.label("previous_owner"))
    )
    return [Claimed(partition=int(r.partition), previous_owner=r.previous_owner) for r in rows]


def release(conn: Connection, *, replica: str, partitions: Collection[int]) -> None:
    conn.execute(
        update(ingest_partitions)
        .where(_p.owner == replica, is_any(_p.partition, partitions))
        .values(owner=None, expires_at=None)
    )


def drop_retired(conn: Connection, *, replica: str, partition: int, count: int) -> None:
    """Forget a partition numbered at or above ``count`` that ``replica`` holds."""
    conn.execute(
        delete(ingest_partitions).where(
            _p.partition == partition, _p.owner == replica, _p.partition >= count
        )
    )


def leave(conn: Connection, *, replica: str) -> None:
    conn.execute(delete(ingest_members).where(_m.replica == replica))


def forget_members(conn: Connection, *, silent_s: float) -> None:
    """Drop the rows of replicas that have not heartbeated for ``silent_s``."""
    conn.execute(delete(ingest_members).where(_m.heartbeat_at < seconds_ago(silent_s)))
