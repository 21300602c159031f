"""An enterprise's peak demand this month and its results in the latest demand-response events
(baseline, actual, reduction), as ``/api/v1/demand-response/events/{id}/results`` computes
them: the enterprise page's demand section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.domain.pue import Window, window_bounds
from services.core.store import demand, dr_events
from services.core.store.demand import Peak
from services.core.store.dr_events import DrEvent

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
