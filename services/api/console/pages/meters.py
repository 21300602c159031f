"""A meter: its registration and status, the last day's raw readings of each point (the point's
unit, before the multiplier), the counter events the rollups found, and its gateway's dead
letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response

from services.api.console import charts
from services.api.console.access import ConsoleCtx, PageNotFoundError, User, enterprise_or_404
from services.api.console.access import own_code as own_code_of
from services.api.console.tables import Column, Kind, table
from services.api.console.views import gettext_for, render
from services.core.store import registry
from services.core.store.connectivity import last_readings
from services.core.store.meter_log import gateway_dead_letters, meter_counter_events
from services.core.store.readings import point_of, readings_page

router = APIRouter(prefix="/console", include_in_schema=False)
RECENT = timedelta(hours=24)
MAX_READINGS = 2000  # a day of one reading a minute, with room
MAX_EVENTS = 50


@router.get("/enterprises/{code}/meters/{meter}")
def meter_page(ctx: ConsoleCtx, request: Request, who: User, code: str, meter: str) -> Response:
    now = datetime.now(UTC)
    with ctx.reads.connect() as conn:
        own = own_code_of(conn, who)
        ent = enterprise_or_404(conn, who, code)
        found = next(
            (m for m in registry.meters_of(conn, enterprise_id=ent.id) if m.code == meter), None
        )
        if found is None:
            raise PageNotFoundError
        series = []
        for p in found.points:
            ref = point_of(conn, enterprise_id=ent.id, meter=meter, quantity=p.quantity)
            rows = (
                []
                if ref is None
                else readings_page(
                    conn, point_id=ref.id, start=now - RECENT, end=now, limit=MAX_READINGS
                )
            )
            series.append((p, rows))
        events = meter_counter_events(conn, enterprise_id=ent.id, meter=meter, limit=MAX_EVENTS)
        letters = (
            gateway_dead_letters(conn, enterprise=code, gateway=found.gateway, limit=MAX_EVENTS)
            if found.gateway
            else []
        )
        last = next(
            (r for r in last_readings(conn) if r.enterprise_id == ent.id and r.meter == meter), None
        )
    zone = ctx.config.common.zone
    point_charts = [
        charts.line(
            [r.ts.astimezone(zone).strftime("%H:%M") for r in rows],
            [(p.quantity, [r.value for r in rows])],
            p.unit,
        )
        for p, rows in series
    ]
    _ = gettext_for(request)
    about = (_("Meter"), f"{ent.code}/{meter}")
    events_title, letters_title = _("Counter events"), _("Dead letters")
    tables = [
        table(
            f"readings-{p.quantity}",
            f"{meter} {p.quantity}",
            (Column(_("Time"), kind=Kind.TIME), Column(_("Reading"), p.unit, Kind.NUMBER, None)),
            [(r.ts, r.value) for r in reversed(rows)],
            filters=(
                about,
                (_("Window"), _("raw readings of the last 24 hours, before the multiplier")),
            ),
        )
        for p, rows in series
    ]
    tables.append(
        table(
            "counter-event-list",
            f"{meter} {events_title}",
            (
                Column(_("Time"), kind=Kind.TIME),
                Column(_("Point")),
                Column(_("Event")),
                Column(_("Energy counted"), kind=Kind.NUMBER, places=None),
                Column(_("Found"), kind=Kind.TIME),
            ),
            [(e.ts, e.quantity, _(e.kind), e.energy, e.detected_at) for e in events],
            filters=(about, (_("Rows"), _("the newest %(n)s") % {"n": MAX_EVENTS})),
        )
    )
    tables.append(
        table(
            "dead-letter-list",
            f"{found.gateway or ''} {letters_title}".strip(),
            (
                Column(_("Received"), kind=Kind.TIME),
                Column(_("Source")),
                Column(_("Reason")),
                Column(_("Detail")),
            ),
            [(d.received_at, d.source, d.reason, d.detail) for d in letters],
            filters=(
                (_("Gateway"), found.gateway or ""),
                (_("Rows"), _("the newest %(n)s") % {"n": MAX_EVENTS}),
            ),
        )
    )
    return render(
        ctx,
        request,
        "meter.html",
        tables=tables,
        who=who,
        own=own,
        ent=ent,
        m=found,
        last=last,
        series=list(zip(series, point_charts, strict=True)),
        events=events,
        letters=letters,
        max_readings=MAX_READINGS,
    )
