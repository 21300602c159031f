"""The Sparkplug host's view of its bound edge nodes: written by the host, read by the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from services.core.schema.tables import enterprises, sparkplug_nodes


@dataclass(frozen=True, slots=True)
class NodeRow:
    group: str
    node: str
    enterprise: str
    state: str
    bd_seq: int | None
    births: int
    devices: tuple[str, ...]
    rebirth_requests: dict[str, int]
    updated_at: datetime | None = None


def save_nodes(conn: Connection, host_id: str, rows: Iterable[NodeRow]) -> int:
    """Upsert the nodes (their enterprise by code; an unknown code is skipped); how many."""
    ids: dict[str, int] = {r.code: r.id for r in conn.execute(select(enterprises))}
    values = [
        {
            "group_id": r.group,
            "node_id": r.node,
            "enterprise_id": ids[r.enterprise],
            "host_id": host_id,
            "state": r.state,
            "bd_seq": r.bd_seq,
            "births": r.births,
            "devices": list(r.devices),
            "rebirth_requests": r.rebirth_requests,
        }
        for r in rows
        if r.enterprise in ids
    ]
    if not values:
        return 0
    stmt = insert(sparkplug_nodes).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[sparkplug_nodes.c.group_id, sparkplug_nodes.c.node_id],
        set_={
            "enterprise_id": stmt.excluded.enterprise_id,
            "host_id": stmt.excluded.host_id,
            "state": stmt.excluded.state,
            "bd_seq": stmt.excluded.bd_seq,
            "births": stmt.excluded.births,
            "devices": stmt.excluded.devices,
            "rebirth_requests": stmt.excluded.rebirth_requests,
            "updated_at": func.now(),
        },
    )
    conn.execute(stmt)
    return len(values)


def nodes_of(conn: Connection, *, enterprise_id: int) -> list[NodeRow]:
    """The enterprise's edge nodes by group and node id."""
    stmt = (
        select(sparkplug_nodes, enterprises.c.code.label("enterprise"))
        .join(enterprises, enterprises.c.id == sparkplug_nodes.c.enterprise_id)
        .where(sparkplug_nodes.c.enterprise_id == enterprise_id)
        .order_by(sparkplug_nodes.c.group_id, sparkplug_nodes.c.node_id)
    )
    return [
        NodeRow(
            group=r.group_id,
            node=r.node_id,
            enterprise=r.enterprise,
            state=r.state,
            bd_seq=r.bd_seq,
            births=r.births,
            devices=tuple(r.devices),
            rebirth_requests=dict(r.rebirth_requests),
            updated_at=r.updated_at,
        )
        for r in conn.execute(stmt)
    ]
