"""The alert inbox: filters, detail with evidence and history, acknowledge and resolve with a
comment (officers, htmx POST with the CSRF token), and the live count the header polls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from sqlalchemy import Connection

from services.api.console.access import (
    ConsoleCtx,
    OfficerUser,
    PageNotFoundError,
    User,
    own_code,
)
from services.api.console.energy_tables import Gettext
from services.api.console.session import check_csrf
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render, wording_for
from services.api.console.wording import Wording
from services.api.context import ApiContext
from services.api.security import Principal
from services.api.tenancy import own_enterprises
from services.core.alerting import store
from services.core.alerting.lifecycle import RULES, Severity, State
from services.core.alerting.store import AlertDetail, AlertSummary
from services.core.store import registry

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 200
LIVE = (State.OPEN.value, State.ACKNOWLEDGED.value)
Filter = Annotated[str | None, Query(max_length=200)]


@router.get("/alerts")
def inbox(
    ctx: ConsoleCtx,
    request: Request,
    who: User,
    rule: Filter = None,
    severity: Filter = None,
    state: Filter = None,
    town: Filter = None,
    enterprise: Filter = None,
) -> Response:
    chosen = {
        "rule": rule if rule in RULES else None,
        "severity": severity if severity in set(Severity) else None,
        "state": state if state in set(State) or state == "live" else None,
        "town": town or None,
        "enterprise": enterprise or None,
    }
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
        towns = _towns(conn, who)
        allowed = _enterprise_ids(conn, who, chosen["town"])
        states = LIVE if chosen["state"] in (None, "live") else (chosen["state"],)
        rows = store.alert_page(
            conn,
            limit=PAGE,
            enterprise_ids=allowed,
            rule=chosen["rule"],
            severity=chosen["severity"],
            states=[] if chosen["state"] == "all" else list(states),
            enterprise=chosen["enterprise"],
        )
    return render(
        ctx,
        request,
        "alerts.html",
        who=who,
        own=own,
        rows=rows,
        chosen=chosen,
        rules=sorted(RULES),
        severities=[s.value for s in Severity],
        states=[s.value for s in State],
        towns=towns,
        page_size=PAGE,
        tables=[inbox_table(rows, chosen, gettext_for(request), wording_for(request))],
    )


def inbox_table(
    rows: Sequence[AlertSummary], chosen: dict[str, str | None], _: Gettext, words: Wording
) -> Table:
    """The list as filtered (the newest ``PAGE``), the filters written into the file."""
    any_ = _("any")
    state = chosen["state"]
    if state in (None, "live"):
        shown_state = _("open or acknowledged")
    else:
        shown_state = any_ if state == "all" else _(str(state))
    filters = (
        (_("Rule"), chosen["rule"] or any_),
        (_("Severity"), _(chosen["severity"]) if chosen["severity"] else any_),
        (_("State"), shown_state),
        (_("Town"), chosen["town"] or any_),
        (_("Enterprise"), chosen["enterprise"] or any_),
        (_("Rows"), _("the newest %(n)s matches") % {"n": PAGE}),
    )
    return table(
        "alert-list",
        _("Alert inbox"),
        (
            Column("#", kind=Kind.INTEGER),
            Column(_("Severity")),
            Column(_("State")),
            Column(_("Alert")),
            Column(_("Rule")),
            Column(_("Enterprise")),
            Column(_("Value"), kind=Kind.NUMBER, places=3),
            Column(_("Limit"), kind=Kind.NUMBER, places=3),
            Column(_("Opened"), kind=Kind.TIME),
        ),
        [
            Row(
                (
                    a.id,
                    _(a.severity),
                    _(a.state),
                    words.alert_title(a),
                    a.rule,
                    a.enterprise or "",
                    a.value,
                    a.limit,
                    a.opened_at,
                ),
                links={3: f"/console/alerts/{a.id}"},
                attrs={"class": f"sev-{a.severity}", "data-alert": str(a.id)},
                cell_attrs={2: {"id": f"alert-row-state-{a.id}", "class": f"state-{a.state}"}},
            )
            for a in rows
        ],
        filters=filters,
        htmx_target="#alert-detail",
    )


def detail_tables(
    a: AlertDetail, events: list[dict[str, object]], _: Gettext, words: Wording
) -> list[Table]:
    """The evidence an alert was computed from and its history."""
    page = f"/console/alerts/{a.id}"
    about = ((_("Alert"), f"#{a.id} {words.alert_title(a)}"),)
    return [
        table(
            "alert-evidence",
            f"#{a.id} " + _("Evidence"),
            (Column(_("Item")), Column(_("Value"))),
            [
                Row((k, _evidence_value(v, words)), cell_attrs=_code_cell(v))
                for k, v in sorted(a.evidence.items())
            ],
            filters=about,
            page=page,
        ),
        table(
            "alert-history",
            f"#{a.id} " + _("History"),
            (
                Column(_("When"), kind=Kind.TIME),
                Column(_("What")),
                Column(_("Who")),
                Column(_("Comment")),
            ),
            [
                (
                    e["at"],
                    _(str(e["action"])),
                    e["actor"],
                    _comment(e.get("detail")),
                )
                for e in events
            ],
            filters=about,
            page=page,
        ),
    ]


def _code_cell(value: object) -> dict[int, dict[str, str]]:
    """Nested evidence is shown as the JSON it is (data, not words to translate)."""
    nested = isinstance(value, dict | list | tuple)
    return {1: {"data-code": "json"}} if nested else {}


def _evidence_value(value: object, words: Wording) -> object:
    """Numbers stay numbers; anything else as text (nested values as JSON)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return json.dumps(value, ensure_ascii=False, default=str)
    return words.sentence(value) if isinstance(value, str) else value


def _comment(detail: object) -> str:
    return str(detail.get("comment") or "") if isinstance(detail, dict) else ""


@router.get("/alerts/count")
def live_count(ctx: ConsoleCtx, request: Request, who: User) -> Response:
    """The number of open alerts the user sees (polled by every page's header)."""
    with ctx.reads.connect() as conn:
        rows = store.alert_page(
            conn,
            limit=10_000,
            enterprise_ids=own_enterprises(who),
            states=[State.OPEN.value],
        )
    return render(ctx, request, "_alert_count.html", who=who, count=len(rows))


@router.get("/alerts/{alert_id}")
def detail(ctx: ConsoleCtx, request: Request, who: User, alert_id: int) -> Response:
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
        alert, events = _visible(conn, who, alert_id)
    partial = request.headers.get("HX-Request") == "true"
    return render(
        ctx,
        request,
        "_alert_detail.html" if partial else "alert.html",
        who=who,
        own=own,
        a=alert,
        events=events,
        error=None,
        acted=False,
        tables=detail_tables(alert, events, gettext_for(request), wording_for(request)),
    )


@router.post("/alerts/{alert_id}/{action}", dependencies=[Depends(check_csrf)])
def act(
    ctx: ConsoleCtx,
    request: Request,
    who: OfficerUser,
    alert_id: int,
    action: Annotated[str, Path(pattern="^(acknowledge|resolve)$")],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Acknowledge (comment optional) or resolve (comment required)."""
    return _act(ctx, request, who, alert_id, action=action, comment=comment.strip() or None)


def _act(
    ctx: ApiContext,
    request: Request,
    who: Principal,
    alert_id: int,
    *,
    action: str,
    comment: str | None,
) -> Response:
    """Acknowledge or resolve as the JSON API does; a refusal (wrong state, no comment) is shown
    on the detail, which is answered either way (200: htmx swaps only successful answers)."""
    error = None
    with ctx.engine.begin() as conn:
        _visible(conn, who, alert_id)
        now = datetime.now(UTC)
        try:
            if action == "acknowledge":
                store.acknowledge(conn, alert_id, who.username, now, comment)
            elif comment is None:
                error = "comment_required"
            else:
                store.resolve(conn, alert_id, who.username, now, comment)
        except store.AlertNotFoundError:
            error = f"{action}_state"
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
        alert, events = _visible(conn, who, alert_id)
    response = render(
        ctx,
        request,
        "_alert_detail.html",
        who=who,
        own=own,
        a=alert,
        events=events,
        error=error,
        acted=error is None,
        tables=detail_tables(alert, events, gettext_for(request), wording_for(request)),
    )
    if error is None:  # the header's open count refreshes at once
        response.headers["HX-Trigger"] = "alerts-changed"
    return response


def _visible(
    conn: Connection, who: Principal, alert_id: int
) -> tuple[AlertDetail, list[dict[str, object]]]:
    alert = store.alert_detail(conn, alert_id=alert_id) if 0 < alert_id < 2**63 else None
    if alert is None or (not who.sees_everything and alert.enterprise_id != who.enterprise_id):
        raise PageNotFoundError
    return alert, store.history(conn, alert_id)


def _towns(conn: Connection, who: Principal) -> list[str]:
    if not who.sees_everything:
        return []
    ents = registry.enterprises_page(conn, limit=1_000_000)
    return sorted({e.town for e in ents if e.active and e.town})


def _enterprise_ids(conn: Connection, who: Principal, town: str | None) -> list[int] | None:
    """The enterprises whose alerts the list may show: the user's own, narrowed to a town."""
    own = own_enterprises(who)
    if town is None:
        return None if own is None else list(own)
    in_town = [e.id for e in registry.enterprises_page(conn, limit=1_000_000, town=town)]
    return in_town if own is None else [i for i in in_town if i in own]
