"""Alerts: list and filter, detail with evidence and history, acknowledge, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import Connection, select

from services.api.deps import Ctx, Officer, Reader, local_times
from services.api.models.alerts import (
    AlertActionIn,
    AlertDetailOut,
    AlertEventOut,
    AlertOut,
    AlertResolveIn,
)
from services.api.models.common import STANDARD_PROBLEMS, Page
from services.api.params import Paging
from services.api.problems import Problem
from services.api.render import model_response, rows_response
from services.api.security import Principal
from services.core.alerting import store
from services.core.alerting.lifecycle import RuleName, Severity, State
from services.core.schema.tables import alerts, enterprises

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=STANDARD_PROBLEMS)
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's id")]
# Every AlertOut field under its own name, the alert's enterprise id (tenancy) and, for the
# detail only, the evidence: the list neither reads nor decodes the evidence JSON.
_NAMED = {
    "window": alerts.c.time_window,
    "limit": alerts.c.limit_value,
    "enterprise": enterprises.c.code,
}
_LIST_COLUMNS = (  # AlertOut's fields in its order, then what only the route reads
    *(
        _NAMED[name].label(name) if name in _NAMED else alerts.c[name]
        for name in AlertOut.model_fields
    ),
    alerts.c.enterprise_id,
)
_COLUMNS = (*_LIST_COLUMNS, alerts.c.evidence)
_FIELDS = tuple(AlertOut.model_fields)


def _out(row: Any, *, zone: ZoneInfo) -> dict[str, Any]:
    return local_times(dict(zip(_FIELDS, row, strict=False)), zone)


def _visible(conn: Connection, *, who: Principal, alert_id: int) -> Any:
    row = conn.execute(
        select(*_COLUMNS)
        .outerjoin(enterprises, enterprises.c.id == alerts.c.enterprise_id)
        .where(alerts.c.id == alert_id)
    ).first()
    if row is None or (not who.sees_everything and row.enterprise_id != who.enterprise_id):
        raise Problem(404, f"no alert {alert_id}")
    return row


@dataclass(frozen=True, slots=True)
class AlertFilters:
    """Which alerts a list is asked for; each filter left out (None, no states) takes any."""

    rule: RuleName | None = None
    severity: Severity | None = None
    states: tuple[State, ...] = ()
    enterprise: str | None = None
    subject: str | None = None
    opened_from: datetime | None = None
    opened_before: datetime | None = None


async def alert_filters(
    type: Annotated[RuleName | None, Query(description="Rule, e.g. pue_over_limit")] = None,
    severity: Annotated[Severity | None, Query(description="info, warning or critical")] = None,
    state: Annotated[
        list[State] | None,
        Query(
            description="open, acknowledged or resolved; repeat for several: "
            "state=open&state=acknowledged"
        ),
    ] = None,
    enterprise: Annotated[
        str | None, Query(description="Unified social credit code of the enterprise")
    ] = None,
    subject: Annotated[
        str | None, Query(description="Subject prefix, e.g. 91120111MA05K8XX3E/dc-1")
    ] = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="Opened at or after (with offset)")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Opened before (with offset)")
    ] = None,
) -> AlertFilters:
    return AlertFilters(
        rule=type,
        severity=severity,
        states=tuple(state or ()),
        enterprise=enterprise,
        subject=subject,
        opened_from=start,
        opened_before=end,
    )


@router.get("/alerts", response_model=Page[AlertOut], summary="List alerts")
def list_alerts(
    ctx: Ctx,
    who: Reader,
    filters: Annotated[AlertFilters, Depends(alert_filters)],
    page: Paging,
) -> Response:
    """Newest first. An enterprise account sees only its own enterprise's alerts."""
    limit = page.size(ctx)
    stmt = (
        select(*_LIST_COLUMNS)
        .outerjoin(enterprises, enterprises.c.id == alerts.c.enterprise_id)
        .order_by(alerts.c.id.desc())
        .limit(limit + 1)
    )
    if not who.sees_everything:
        stmt = stmt.where(alerts.c.enterprise_id == who.enterprise_id)
    if filters.rule is not None:
        stmt = stmt.where(alerts.c.rule == filters.rule)
    if filters.severity is not None:
        stmt = stmt.where(alerts.c.severity == filters.severity.value)
    if filters.states:
        stmt = stmt.where(alerts.c.state.in_([s.value for s in filters.states]))
    if filters.enterprise is not None:
        stmt = stmt.where(enterprises.c.code == filters.enterprise)
    if filters.subject is not None:
        stmt = stmt.where(alerts.c.subject.startswith(filters.subject, autoescape=True))
    if filters.opened_from is not None:
        stmt = stmt.where(alerts.c.opened_at >= filters.opened_from)
    if filters.opened_before is not None:
        stmt = stmt.where(alerts.c.opened_at < filters.opened_before)
    after = page.after()
    if after is not None:
        stmt = stmt.where(alerts.c.id < int(str(after)))
    with ctx.reads.connect() as conn:
        rows = conn.execute(stmt).all()
    zone = ctx.config.common.zone
    items = [_out(r, zone=zone) for r in rows[:limit]]  # AlertOut's fields, rendered as they are
    return rows_response({"items": items, "next_cursor": page.next_cursor(rows, lambda r: r.id)})


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetailOut,
    summary="An alert with its evidence and history",
)
def get_alert(ctx: Ctx, who: Reader, alert_id: AlertId) -> Response:
    """The alert with the figures it was computed from (`evidence`) and every transition
    (`history`: opened, severity_changed, acknowledged, resolved, with actor and comment). Another
    enterprise's alert answers 404 to an enterprise account."""
    with ctx.reads.connect() as conn:
        row = _visible(conn, who=who, alert_id=alert_id)
        events = store.history(conn, alert_id)
    zone = ctx.config.common.zone
    out = AlertDetailOut.model_validate(
        {
            **_out(row, zone=zone),
            "evidence": row.evidence,
            "history": [
                AlertEventOut.model_validate(local_times(dict(e), zone), from_attributes=False)
                for e in events
            ],
        }
    )
    return model_response(AlertDetailOut, out)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertDetailOut,
    summary="Acknowledge an open alert (officer)",
)
def acknowledge(ctx: Ctx, who: Officer, alert_id: AlertId, body: AlertActionIn) -> Response:
    """Records who acknowledged it, when, and the optional comment. An acknowledged alert still
    resolves automatically once its condition has cleared. 409 unless the alert is open.
    Officers and admins."""
    with ctx.engine.begin() as conn:
        _visible(conn, who=who, alert_id=alert_id)
        try:
            store.acknowledge(conn, alert_id, who.username, datetime.now(UTC), body.comment)
        except store.AlertNotFoundError as err:
            raise Problem(
                409, "only an open alert can be acknowledged", kind="alert-state"
            ) from err
    return get_alert(ctx, who, alert_id)


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertDetailOut,
    summary="Resolve an alert with a comment (officer)",
)
def resolve(ctx: Ctx, who: Officer, alert_id: AlertId, body: AlertResolveIn) -> Response:
    """Closes an open or acknowledged alert with a required comment; 409 if already resolved.
    Officers and admins."""
    with ctx.engine.begin() as conn:
        _visible(conn, who=who, alert_id=alert_id)
        try:
            store.resolve(conn, alert_id, who.username, datetime.now(UTC), body.comment)
        except store.AlertNotFoundError as err:
            raise Problem(409, "the alert is already resolved", kind="alert-state") from err
    return get_alert(ctx, who, alert_id)
