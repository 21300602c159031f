"""Alerts: list and filter, detail with evidence and history, acknowledge, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import Connection

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
from services.api.tenancy import own_enterprises
from services.core.alerting import store
from services.core.alerting.lifecycle import RuleName, Severity, State
from services.core.alerting.store import AlertDetail, AlertSummary

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=STANDARD_PROBLEMS)
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The alert's id")]
_FIELDS = tuple(AlertOut.model_fields)  # what an alert shows, in the model's order


def _out(alert: AlertSummary, *, zone: ZoneInfo) -> dict[str, Any]:
    return local_times({name: getattr(alert, name) for name in _FIELDS}, zone)


def _visible(conn: Connection, *, who: Principal, alert_id: int) -> AlertDetail:
    alert = store.alert_detail(conn, alert_id=alert_id)
    if alert is None or (not who.sees_everything and alert.enterprise_id != who.enterprise_id):
        raise Problem(404, f"no alert {alert_id}")
    return alert


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
    before_id = page.after_id()
    with ctx.reads.connect() as conn:
        rows = store.alert_page(
            conn,
            limit=limit + 1,
            before_id=before_id,
            enterprise_ids=own_enterprises(who),
            rule=filters.rule,
            severity=None if filters.severity is None else filters.severity.value,
            states=[s.value for s in filters.states],
            enterprise=filters.enterprise,
            subject_prefix=filters.subject,
            opened_from=filters.opened_from,
            opened_before=filters.opened_before,
        )
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
