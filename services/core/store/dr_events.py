"""Demand-response events: the windows officers record, when load should drop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from services.core.schema.tables import dr_events


@dataclass(frozen=True, slots=True)
class DrEvent:
    id: int
    name: str
    start_at: datetime
    end_at: datetime
    note: str | None
    created_by: str
    created_at: datetime


_COLUMNS = (
    dr_events.c.id,
    dr_events.c.name,
    dr_events.c.start_at,
    dr_events.c.end_at,
    dr_events.c.note,
    dr_events.c.created_by,
    dr_events.c.created_at,
)


def record_event(
    conn: Connection,
    *,
    name: str,
    start: datetime,
    end: datetime,
    note: str | None,
    created_by: str,
) -> DrEvent:
    """A new event over [start, end), as stored."""
    stmt = (
        insert(dr_events)
        .values(name=name, start_at=start, end_at=end, note=note, created_by=created_by)
        .returning(*_COLUMNS)
    )
    return DrEvent(**conn.execute(stmt).one()._mapping)


def events(conn: Connection) -> list[DrEvent]:
    """Every event, newest first (by start)."""
    stmt = select(*_COLUMNS).order_by(dr_events.c.start_at.desc())
    return [DrEvent(**r._mapping) for r in conn.execute(stmt)]


def event(conn: Connection, *, event_id: int) -> DrEvent | None:
    row = conn.execute(select(*_COLUMNS).where(dr_events.c.id == event_id)).first()
    return None if row is None else DrEvent(**row._mapping)


def other_event_starts(conn: Connection, *, event_id: int) -> list[datetime]:
    """When every event but ``event_id`` starts."""
    stmt = select(dr_events.c.start_at).where(dr_events.c.id != event_id)
    return list(conn.execute(stmt).scalars())
