"""Alerts in the database: load live alerts, apply lifecycle actions, officer actions, history,
and alerts as people read them (one alert, a filtered page)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from services.core.alerting.lifecycle import (
    Action,
    AlertKey,
    Finding,
    LiveAlert,
    Open,
    Resolve,
    Severity,
    StartClearing,
    State,
    Update,
)
from services.core.errors import EnergymonError
from services.core.schema.tables import alert_events, alerts, enterprises, notifications

SYSTEM = "system"


class AlertNotFoundError(EnergymonError):
    pass


def live_alerts(conn: Connection, rules: Iterable[str]) -> dict[AlertKey, LiveAlert]:
    rows = conn.execute(
        select(
            alerts.c.id,
            alerts.c.rule,
            alerts.c.subject_type,
            alerts.c.subject_id,
            alerts.c.time_window,
            alerts.c.state,
            alerts.c.severity,
            alerts.c.cleared_since,
        ).where(alerts.c.state != State.RESOLVED.value, alerts.c.rule.in_(list(rules)))
    )
    out = {}
    for r in rows:
        key = (r.rule, r.subject_type, r.subject_id, r.time_window)
        out[key] = LiveAlert(r.id, key, State(r.state), Severity(r.severity), r.cleared_since)
    return out


def alert_is_live(
    conn: Connection, *, rule: str, subject: str | None = None, enterprise: str | None = None
) -> bool:
    """Whether an alert of ``rule`` is live (open or acknowledged), of the subject whose text is
    ``subject`` and of the enterprise whose code is ``enterprise``, when given."""
    stmt = exists().where(alerts.c.state != State.RESOLVED.value, alerts.c.rule == rule)
    if subject is not None:
        stmt = stmt.where(alerts.c.subject == subject)
    if enterprise is not None:
        of = select(enterprises.c.id).where(enterprises.c.code == enterprise).scalar_subquery()
        stmt = stmt.where(alerts.c.enterprise_id == of)
    return bool(conn.execute(select(stmt)).scalar())


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """An alert as a watcher sees it: its key in words, where it is in its lifecycle, and its
    latest value against its limit."""

    id: int
    rule: str
    subject: str
    window: str
    state: State
    opened_at: datetime
    clearing: bool  # its condition is clear, the hold time running
    resolved_at: datetime | None
    value: float | None
    limit: float | None


def alerts_seen(
    conn: Connection, *, rule_prefixes: Sequence[str], resolved_since: datetime
) -> list[AlertSeen]:
    """The alerts of the rules named with one of ``rule_prefixes`` that are live or resolved at
    or after ``resolved_since``, oldest first."""
    stmt = (
        select(
            alerts.c.id,
            alerts.c.rule,
            alerts.c.subject,
            alerts.c.time_window,
            alerts.c.state,
            alerts.c.opened_at,
            alerts.c.cleared_since,
            alerts.c.resolved_at,
            alerts.c.value,
            alerts.c.limit_value,
        )
        .where(
            or_(*(alerts.c.rule.startswith(p, autoescape=True) for p in rule_prefixes)),
            or_(alerts.c.state != State.RESOLVED.value, alerts.c.resolved_at >= resolved_since),
        )
        .order_by(alerts.c.id)
    )
    return [
        AlertSeen(
            id=r.id,
            rule=r.rule,
            subject=r.subject,
            window=r.time_window,
            state=State(r.state),
            opened_at=r.opened_at,
            clearing=r.cleared_since is not None,
            resolved_at=r.resolved_at,
            value=r.value,
            limit=r.limit_value,
        )
        for r in conn.execute(stmt)
    ]


def live_alert_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """Live (open or acknowledged) alerts by rule and severity."""
    rows = conn.execute(
        select(alerts.c.rule, alerts.c.severity, func.count())
        .where(alerts.c.state != State.RESOLVED.value)
        .group_by(alerts.c.rule, alerts.c.severity)
    )
    return {(rule, severity): int(n) for rule, severity, n in rows}


def _fields(f: Finding) -> dict[str, Any]:
    return {
        "severity": f.severity.value,
        "title": f.title,
        "value": f.value,
        "limit_value": f.limit,
        "evidence": dict(f.evidence),
        "subject": f.subject,
    }


def _event(
    conn: Connection, alert_id: int, at: datetime, action: str, actor: str = SYSTEM, **detail: Any
) -> None:
    conn.execute(
        alert_events.insert().values(
            alert_id=alert_id, at=at, actor=actor, action=action, detail=detail
        )
    )


def enqueue(
    conn: Connection, alert_id: int, event: str, channels: Sequence[str], at: datetime
) -> None:
    """One notification per (alert, channel, event): enqueuing twice sends once."""
    for channel in channels:
        conn.execute(
            insert(notifications)
            .values(
                alert_id=alert_id,
                channel=channel,
                event=event,
                next_attempt_at=at,
            )
            .on_conflict_do_nothing(index_elements=["alert_id", "channel", "event"])
        )


def apply(
    conn: Connection, actions: Sequence[Action], now: datetime, route: Any = None
) -> dict[str, int]:
    """Apply lifecycle actions in the caller's transaction. ``route(finding_or_row) -> channels``
    decides notifications. Returns counts by action."""
    counts = {"opened": 0, "updated": 0, "clearing": 0, "resolved": 0}
    for action in actions:
        if isinstance(action, Open):
            f = action.finding
            stmt = (
                insert(alerts)
                .values(
                    rule=f.rule,
                    subject_type=f.subject_type,
                    subject_id=f.subject_id,
                    enterprise_id=f.enterprise_id,
                    time_window=f.window,
                    state=State.OPEN.value,
                    opened_at=now,
                    updated_at=now,
                    last_evaluated_at=now,
                    **_fields(f),
                )
                .on_conflict_do_nothing()
                .returning(alerts.c.id)
            )
            alert_id = conn.execute(stmt).scalar()
            if alert_id is None:
                continue  # another evaluator opened it a moment ago
            _event(conn, alert_id, now, "opened", value=f.value, limit=f.limit)
            if route is not None:
                enqueue(conn, alert_id, "opened", route(f), now)
            counts["opened"] += 1
        elif isinstance(action, Update):
            f = action.finding
            conn.execute(
                update(alerts)
                .where(alerts.c.id == action.alert_id)
                .values(updated_at=now, last_evaluated_at=now, cleared_since=None, **_fields(f))
            )
            if action.severity_changed:
                _event(conn, action.alert_id, now, "severity_changed", severity=f.severity.value)
            counts["updated"] += 1
        elif isinstance(action, StartClearing):
            values: dict[str, Any] = {"last_evaluated_at": now}
            if action.finding is not None:
                values.update(value=action.finding.value, evidence=dict(action.finding.evidence))
            conn.execute(
                update(alerts)
                .where(alerts.c.id == action.alert_id, alerts.c.cleared_since.is_(None))
                .values(cleared_since=now, **values)
            )
            conn.execute(update(alerts).where(alerts.c.id == action.alert_id).values(**values))
            counts["clearing"] += 1
        elif isinstance(action, Resolve):
            _resolve(
                conn,
                action.alert_id,
                now,
                SYSTEM,
                "condition cleared for the hold time",
                route=route,
            )
            counts["resolved"] += 1
    return counts


def _resolve(
    conn: Connection, alert_id: int, now: datetime, actor: str, comment: str, *, route: Any
) -> None:
    row = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state != State.RESOLVED.value)
        .values(
            state=State.RESOLVED.value,
            resolved_at=now,
            resolved_by=actor,
            resolution_comment=comment,
            updated_at=now,
        )
        .returning(alerts.c.id, alerts.c.rule, alerts.c.severity)
    ).first()
    if row is None:
        raise AlertNotFoundError(f"no live alert {alert_id}")
    _event(conn, alert_id, now, "resolved", actor, comment=comment)
    if route is not None:
        enqueue(conn, alert_id, "resolved", route(row), now)


def acknowledge(
    conn: Connection, alert_id: int, actor: str, now: datetime, comment: str | None = None
) -> None:
    row = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state == State.OPEN.value)
        .values(
            state=State.ACKNOWLEDGED.value,
            acknowledged_at=now,
            acknowledged_by=actor,
            updated_at=now,
        )
        .returning(alerts.c.id)
    ).first()
    if row is None:
        raise AlertNotFoundError(f"no open alert {alert_id}")
    _event(conn, alert_id, now, "acknowledged", actor, comment=comment)


def resolve(
    conn: Connection, alert_id: int, actor: str, now: datetime, comment: str, *, route: Any = None
) -> None:
    _resolve(conn, alert_id, now, actor, comment, route=route)


def history(conn: Connection, alert_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(alert_events).where(alert_events.c.alert_id == alert_id).order_by(alert_events.c.id)
    )
    return [dict(r._mapping) for r in rows]


def list_alerts(
    conn: Connection,
    *,
    states: Sequence[str] = ("open", "acknowledged"),
    rule: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    stmt = (
        select(alerts)
        .where(alerts.c.state.in_(list(states)))
        .order_by(alerts.c.opened_at.desc())
        .limit(limit)
    )
    if rule is not None:
        stmt = stmt.where(and_(alerts.c.rule == rule))
    return [dict(r._mapping) for r in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """An alert as a list shows it, with its enterprise's code (None: a district-wide alert)."""

    id: int
    rule: str
    subject_type: str
    subject: str
    enterprise: str | None
    window: str
    severity: str
    state: str
    title: str
    value: float | None
    limit: float | None
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_comment: str | None
    enterprise_id: int | None


@dataclass(frozen=True, slots=True)
class AlertDetail(AlertSummary):
    """An alert with the figures it was computed from."""

    evidence: dict[str, Any]


# in AlertSummary's field order: rows become summaries by position
_SUMMARY_COLUMNS = (
    alerts.c.id,
    alerts.c.rule,
    alerts.c.subject_type,
    alerts.c.subject,
    enterprises.c.code.label("enterprise"),
    alerts.c.time_window.label("window"),
    alerts.c.severity,
    alerts.c.state,
    alerts.c.title,
    alerts.c.value,
    alerts.c.limit_value.label("limit"),
    alerts.c.opened_at,
    alerts.c.updated_at,
    alerts.c.acknowledged_at,
    alerts.c.acknowledged_by,
    alerts.c.resolved_at,
    alerts.c.resolved_by,
    alerts.c.resolution_comment,
    alerts.c.enterprise_id,
)


def alert_detail(conn: Connection, *, alert_id: int) -> AlertDetail | None:
    row: Any = conn.execute(
        select(*_SUMMARY_COLUMNS, alerts.c.evidence)
        .outerjoin(enterprises, enterprises.c.id == alerts.c.enterprise_id)
        .where(alerts.c.id == alert_id)
    ).first()
    return None if row is None else AlertDetail(*row)


def alert_page(
    conn: Connection,
    *,
    limit: int,
    before_id: int | None = None,
    enterprise_ids: Collection[int] | None = None,
    rule: str | None = None,
    severity: str | None = None,
    states: Collection[str] = (),
    enterprise: str | None = None,
    subject_prefix: str | None = None,
    opened_from: datetime | None = None,
    opened_before: datetime | None = None,
) -> list[AlertSummary]:
    """Up to ``limit`` alerts, newest (highest id) first, below ``before_id``; each filter left
    out (None, no states) takes any. ``enterprise_ids``: only those enterprises' alerts (None:
    every alert); ``enterprise``: only that enterprise code's."""
    stmt = (
        select(*_SUMMARY_COLUMNS)
        .outerjoin(enterprises, enterprises.c.id == alerts.c.enterprise_id)
        .order_by(alerts.c.id.desc())
        .limit(limit)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(alerts.c.enterprise_id.in_(list(enterprise_ids)))
    if rule is not None:
        stmt = stmt.where(alerts.c.rule == rule)
    if severity is not None:
        stmt = stmt.where(alerts.c.severity == severity)
    if states:
        stmt = stmt.where(alerts.c.state.in_(list(states)))
    if enterprise is not None:
        stmt = stmt.where(enterprises.c.code == enterprise)
    if subject_prefix is not None:
        stmt = stmt.where(alerts.c.subject.startswith(subject_prefix, autoescape=True))
    if opened_from is not None:
        stmt = stmt.where(alerts.c.opened_at >= opened_from)
    if opened_before is not None:
        stmt = stmt.where(alerts.c.opened_at < opened_before)
    if before_id is not None:
        stmt = stmt.where(alerts.c.id < before_id)
    # all rows in one fetch, each passed by position (see _SUMMARY_COLUMNS): a hundred rows by
    # name through the row's mapping cost ~1 ms more
    rows: Sequence[Any] = conn.execute(stmt).all()
    return [AlertSummary(*r) for r in rows]
