"""The notification outbox in the database: what is due, locking one row to send it, recording
the outcome, and queuing re-notifications. The channels themselves live in the alerts service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert

from services.core.schema.tables import alerts, notifications


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A pending notification, locked for this sender, with the alert it is about."""

    notification_id: int
    channel: str
    event: str
    attempts: int
    created_at: datetime
    alert: dict[str, Any]  # the alert's columns, as the channels render them


def due_ids(
    conn: Connection, *, now: datetime, limit: int, except_channel: str | None = None
) -> list[int]:
    """Pending notifications due by ``now``, oldest first."""
    stmt = (
        select(notifications.c.id)
        .where(notifications.c.status == "pending", notifications.c.next_attempt_at <= now)
        .order_by(notifications.c.id)
        .limit(limit)
    )
    if except_channel is not None:
        stmt = stmt.where(notifications.c.channel != except_channel)
    return list(conn.execute(stmt).scalars())


def lock_pending(conn: Connection, *, notification_id: int) -> Outgoing | None:
    """The notification if it is still pending and no concurrent sender holds it."""
    row = (
        conn.execute(
            _with_alert()
            .where(notifications.c.id == notification_id, notifications.c.status == "pending")
            .with_for_update(skip_locked=True, of=notifications)
        )
        .mappings()
        .first()
    )
    return None if row is None else _outgoing(row)


def lock_due_on_channel(conn: Connection, *, channel: str, now: datetime) -> list[Outgoing]:
    """Every pending notification of ``channel`` due by ``now`` (a digest), locked."""
    rows = (
        conn.execute(
            _with_alert()
            .where(
                notifications.c.channel == channel,
                notifications.c.status == "pending",
                notifications.c.next_attempt_at <= now,
            )
            .order_by(notifications.c.id)
            .with_for_update(skip_locked=True, of=notifications)
        )
        .mappings()
        .all()
    )
    return [_outgoing(r) for r in rows]


def record_sent(conn: Connection, *, ids: Sequence[int], attempts: int, at: datetime) -> None:
    conn.execute(
        update(notifications)
        .where(notifications.c.id.in_(list(ids)))
        .values(attempts=attempts, status="sent", sent_at=at, last_error=None)
    )


def record_failure(
    conn: Connection,
    *,
    ids: Sequence[int],
    attempts: int,
    error: str,
    final: bool,
    retry_at: datetime,
) -> None:
    conn.execute(
        update(notifications)
        .where(notifications.c.id.in_(list(ids)))
        .values(
            attempts=attempts,
            last_error=error[:500],
            status="failed" if final else "pending",
            next_attempt_at=retry_at,
        )
    )


def queue_renotifications(conn: Connection, *, now: datetime, cutoff: datetime) -> int:
    """A ``renotify-N`` for every open alert (not clearing) whose notifications on a channel are
    all settled, the last at or before ``cutoff``, on that channel. Returns how many were queued."""
    renotified = func.count().filter(notifications.c.event.like("renotify-%"))
    last = func.max(func.coalesce(notifications.c.sent_at, notifications.c.created_at))
    pending = func.bool_and(notifications.c.status != "pending")
    due = (
        select(
            alerts.c.id,
            notifications.c.channel,
            (literal("renotify-") + cast(renotified + 1, String)).label("event"),
            literal("pending").label("status"),
            literal(now).label("next_attempt_at"),
        )
        .join(notifications, notifications.c.alert_id == alerts.c.id)
        .where(and_(alerts.c.state == "open", alerts.c.cleared_since.is_(None)))
        .group_by(alerts.c.id, notifications.c.channel)
        .having(and_(pending, last <= cutoff))
    )
    stmt = (
        insert(notifications)
        .from_select(["alert_id", "channel", "event", "status", "next_attempt_at"], due)
        .on_conflict_do_nothing(index_elements=["alert_id", "channel", "event"])
        .execution_options(preserve_rowcount=True)  # SQLAlchemy keeps it for UPDATE/DELETE only
    )
    return int(conn.execute(stmt).rowcount or 0)


def _with_alert() -> Any:
    return select(notifications, alerts).join(alerts, alerts.c.id == notifications.c.alert_id)


def _outgoing(row: Any) -> Outgoing:
    return Outgoing(
        notification_id=row[notifications.c.id],
        channel=row[notifications.c.channel],
        event=row[notifications.c.event],
        attempts=row[notifications.c.attempts],
        created_at=row[notifications.c.created_at],
        alert={c.name: row[alerts.c[c.name]] for c in alerts.columns},
    )
