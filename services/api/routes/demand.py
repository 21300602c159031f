"""An enterprise's peak demand, and demand-response events with each enterprise's baseline and
achieved reduction."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Response, status

from services.api.deps import Ctx, Officer, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.demand import (
    DemandResponseIn,
    DemandResponseOut,
    DemandResponseResultOut,
    PeakDemandOut,
)
from services.api.params import Code, From, To, check_range
from services.api.problems import Problem
from services.api.render import model_response
from services.api.tenancy import own_enterprises, visible_enterprise
from services.core.store import demand, dr_events, registry
from services.core.store.dr_events import DrEvent

router = APIRouter(prefix="/api/v1", tags=["energy"], responses=STANDARD_PROBLEMS)


@router.get(
    "/enterprises/{code}/peak-demand",
    response_model=PeakDemandOut,
    summary="An enterprise's peak demand (highest 15-minute average power) in a range",
)
def peak_demand(ctx: Ctx, who: Reader, code: Code, start: From, end: To) -> Response:
    """The highest 15-minute electricity consumption of the enterprise's boundary meters in the
    range, times 4, and when its quarter hour started; nulls without data."""
    check_range(ctx, start, end)
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        visible_enterprise(conn, who, code)
        peak = demand.peaks(conn, codes=[code], start=start, end=end).get(code)
    out = PeakDemandOut(
        enterprise=code,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        peak_kw=peak.kw if peak else None,
        at=peak.at.astimezone(zone) if peak else None,
    )
    return model_response(PeakDemandOut, out)


def _event_out(row: DrEvent, *, zone: ZoneInfo) -> DemandResponseOut:
    return DemandResponseOut(
        id=row.id,
        name=row.name,
        start=row.start_at.astimezone(zone),
        end=row.end_at.astimezone(zone),
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at.astimezone(zone),
    )


@router.post(
    "/demand-response/events",
    response_model=DemandResponseOut,
    status_code=201,
    summary="Record a demand-response event window (officers)",
)
def create_event(ctx: Ctx, who: Officer, body: DemandResponseIn) -> Response:
    """An event window that starts and ends on 15-minute slots and lasts at most one day
    (otherwise 400). Results are computed when asked for, from the readings at that time."""
    check_range(ctx, body.start, body.end)
    for t in (body.start, body.end):
        if t.minute % 15 or t.second or t.microsecond:
            raise Problem(400, "an event starts and ends on 15-minute slots", kind="invalid-range")
    if body.end - body.start > timedelta(days=1):
        raise Problem(400, "an event lasts at most one day", kind="invalid-range")
    with ctx.engine.begin() as conn:
        row = dr_events.record_event(
            conn,
            name=body.name,
            start=body.start,
            end=body.end,
            note=body.note,
            created_by=who.username,
        )
    out = _event_out(row, zone=ctx.config.common.zone)
    return model_response(DemandResponseOut, out, status_code=status.HTTP_201_CREATED)


@router.get(
    "/demand-response/events",
    response_model=list[DemandResponseOut],
    summary="Demand-response events, newest first",
)
def list_events(ctx: Ctx, who: Reader) -> Response:
    """Every recorded event, for every role that reads; results are per enterprise."""
    with ctx.reads.connect() as conn:
        rows = dr_events.events(conn)
    out = [_event_out(r, zone=ctx.config.common.zone) for r in rows]
    return model_response(list[DemandResponseOut], out)


EventId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The event's id")]


@router.get(
    "/demand-response/events/{event_id}/results",
    response_model=list[DemandResponseResultOut],
    summary="Each enterprise's baseline and achieved reduction during an event",
)
def event_results(ctx: Ctx, who: Reader, event_id: EventId) -> Response:
    """Baseline = the mean average power in the same 15-minute slots on the 5 previous similar
    days (weekdays for a weekday), skipping other event days; reduction = baseline - actual, also
    as a share of the enterprise's peak demand in the 30 days before. Enterprises without data
    in the window are listed with nulls. An enterprise account sees its own row."""
    zone = ctx.config.common.zone
    with ctx.reads.connect() as conn:
        event = dr_events.event(conn, event_id=event_id)
        if event is None:
            raise Problem(404, f"no event {event_id}")
        names = registry.active_enterprise_names(conn, enterprise_ids=own_enterprises(who))
        others = dr_events.other_event_starts(conn, event_id=event_id)
        skip = [t.astimezone(zone).date() for t in others]
        results = demand.event_results(
            conn,
            codes=list(names),
            start=event.start_at,
            end=event.end_at,
            zone=zone,
            skip_days=skip,
        )
    out = [
        DemandResponseResultOut(
            enterprise=r.enterprise,
            name=names[r.enterprise],
            baseline_kw=r.reduction.baseline_kw if r.reduction else None,
            actual_kw=r.reduction.actual_kw if r.reduction else None,
            reduction_kw=r.reduction.reduction_kw if r.reduction else None,
            share_of_peak=r.reduction.share_of_peak if r.reduction else None,
            peak_kw=r.peak_kw,
        )
        for r in results
    ]
    ranked = sorted(out, key=lambda r: (r.reduction_kw is None, -(r.reduction_kw or 0.0)))
    return model_response(list[DemandResponseResultOut], ranked)
