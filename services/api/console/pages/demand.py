"""An enterprise's peak demand this month and its results in the latest demand-response events
(baseline, actual, reduction), as ``/api/v1/demand-response/events/{id}/results`` computes
them: the enterprise page's demand section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.api.console.energy_tables import Gettext
from services.api.console.pages.enterprise_tables import about
from services.api.console.tables import Column, Kind, Table, table
from services.core.domain.pue import Window, window_bounds
from services.core.store import demand, dr_events
from services.core.store.demand import Peak
from services.core.store.dr_events import DrEvent
from services.core.store.registry import Enterprise

EVENTS_SHOWN = 5
EVENTS_WITHIN = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class EventRow:
    event: DrEvent
    result: demand.EventResult | None


@dataclass(frozen=True, slots=True)
class DemandSection:
    peak: Peak | None
    events: list[EventRow]


def demand_section(conn: Connection, *, code: str, now: datetime, zone: ZoneInfo) -> DemandSection:
    """This month's peak and the enterprise's result in each of the last ``EVENTS_SHOWN`` events
    of the past year that have ended (a running event has no result yet)."""
    month_start, _ = window_bounds(Window.MONTH_TO_DATE, now, zone)
    peak = demand.peaks(conn, codes=[code], start=month_start, end=now).get(code)
    every = dr_events.events(conn)
    ended = [e for e in every if e.end_at <= now and now - e.start_at <= EVENTS_WITHIN]
    rows = []
    for event in ended[:EVENTS_SHOWN]:
        skip = [
            t.astimezone(zone).date() for t in dr_events.other_event_starts(conn, event_id=event.id)
        ]
        found = demand.event_results(
            conn, codes=[code], start=event.start_at, end=event.end_at, zone=zone, skip_days=skip
        )
        rows.append(EventRow(event, found[0] if found else None))
    return DemandSection(peak, rows)


def demand_table(ent: Enterprise, section: DemandSection, _: Gettext) -> Table:
    """Each event's window and the enterprise's baseline, actual and reduction (blank when the
    data were insufficient, as the page says)."""
    rows = []
    for row in section.events:
        r = row.result.reduction if row.result else None
        rows.append(
            (
                row.event.name,
                row.event.start_at,
                row.event.end_at,
                None if r is None else r.baseline_kw,
                None if r is None else r.actual_kw,
                None if r is None else r.reduction_kw,
                None if r is None else r.share_of_peak,
            )
        )
    kw = (Kind.NUMBER, 1)
    return table(
        "dr-results",
        _("Demand and demand response"),
        (
            Column(_("Event")),
            Column(_("Start"), kind=Kind.TIME),
            Column(_("End"), kind=Kind.TIME),
            Column(_("Baseline"), "kW", *kw),
            Column(_("Actual"), "kW", *kw),
            Column(_("Reduction"), "kW", *kw),
            Column(_("Share of peak"), kind=Kind.SHARE),
        ),
        rows,
        filters=(about(ent, _),),
    )
