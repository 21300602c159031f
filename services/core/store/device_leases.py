"""Which Modbus poller may poll which meter: ``device_leases`` and ``poller_members``, the
statements behind ``services/ingest/modbus/leases.py``.

A lease runs until ``expires_at`` on the database's clock; a poller is live while its heartbeat is
younger than the lease time to live.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, delete, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert

from services.core.schema.tables import device_leases, poller_members
from services.core.store.sql import int_array, is_any, seconds_ago, seconds_ahead

_d = device_leases.c
_m = poller_members.c


def heartbeat(conn: Connection, *, owner: str) -> None:
    stmt = insert(poller_members).values(owner=owner, heartbeat_at=func.now())
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["owner"], set_={"heartbeat_at": func.now()})
    )


def live_pollers(conn: Connection, *, ttl_s: float) -> int:
    return int(
        conn.execute(select(func.count()).where(_m.heartbeat_at > seconds_ago(ttl_s))).scalar_one()
    )


def drop_others(conn: Connection, *, owner: str, meter_ids: Collection[int]) -> None:
    """Delete ``owner``'s leases of meters not in ``meter_ids`` (no longer polled)."""
    conn.execute(delete(device_leases).where(_d.owner == owner, ~is_any(_d.meter_id, meter_ids)))


def renew(conn: Connection, *, owner: str, meter_ids: Collection[int], ttl_s: float) -> set[int]:
    """Extend the leases of ``meter_ids`` that ``owner`` still holds; returns those."""
    rows = conn.execute(
        update(device_leases)
        .where(_d.owner == owner, is_any(_d.meter_id, meter_ids))
        .values(expires_at=seconds_ahead(ttl_s))
        .returning(_d.meter_id)
    )
    return {int(m) for m in rows.scalars()}


def claim(
    conn: Connection, *, owner: str, meter_ids: Collection[int], ttl_s: float, limit: int
) -> set[int]:
    """Take up to ``limit`` of ``meter_ids`` whose lease is free or expired, lowest first. Of two
    pollers claiming one meter at once, the second's insert finds the first's live lease and
    leaves it."""
    wanted = func.unnest(int_array(meter_ids)).table_valued("meter_id").render_derived("wanted")
    held = device_leases.alias("held")
    free = (
        select(wanted.c.meter_id, literal(owner), seconds_ahead(ttl_s))
        .where(
            ~exists().where(held.c.meter_id == wanted.c.meter_id, held.c.expires_at > func.now())
        )
        .order_by(wanted.c.meter_id)
        .limit(limit)
    )
    stmt = insert(device_leases).from_select(["meter_id", "owner", "expires_at"], free)
    rows = conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["meter_id"],
            set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
            where=_d.expires_at <= func.now(),
        ).returning(_d.meter_id)
    )
    return {int(m) for m in rows.scalars()}


def forget_members(conn: Connection, *, silent_s: float) -> None:
    """Drop the rows of pollers that have not heartbeated for ``silent_s``."""
    conn.execute(delete(poller_members).where(_m.heartbeat_at < seconds_ago(silent_s)))


def release(conn: Connection, *, owner: str, meter_ids: Collection[int]) -> None:
    conn.execute(delete(device_leases).where(_d.owner == owner, is_any(_d.meter_id, meter_ids)))


def leave(conn: Connection, *, owner: str) -> None:
    """Delete every lease of ``owner`` and its membership."""
    conn.execute(delete(device_leases).where(_d.owner == owner))
    conn.execute(delete(poller_members).where(_m.owner == owner))
