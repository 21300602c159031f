"""Raw readings of one point, in a bounded time range, paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.api.deps import Ctx, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.readings import ReadingOut, ReadingsPage
from services.api.params import Code, Meter, PageRequest, check_range, paging, zone_of
from services.api.problems import Problem
from services.api.render import model_response
from services.api.tenancy import visible_enterprise
from services.core.store.readings import point_of, readings_page

router = APIRouter(prefix="/api/v1", tags=["readings"], responses=STANDARD_PROBLEMS)


@dataclass(frozen=True, slots=True)
class PointRange:
    """Whose readings, over which range, with offsets in which zone (the range and the zone
    checked by the route, once FastAPI has validated every parameter)."""

    code: str
    meter: str
    point: str
    start: datetime
    end: datetime
    tz: str | None


async def point_range(
    code: Code,
    meter: Meter,
    point: Annotated[str, Path(description="The point's quantity, e.g. energy_import_kwh")],
    start: Annotated[datetime, Query(alias="from", description="ISO 8601 with offset")],
    end: Annotated[datetime, Query(alias="to", description="ISO 8601 with offset, exclusive")],
    tz: Annotated[str | None, Query(description="IANA zone for the output offsets")] = None,
) -> PointRange:
    return PointRange(code=code, meter=meter, point=point, start=start, end=end, tz=tz)


@router.get(
    "/enterprises/{code}/meters/{meter}/points/{point}/readings",
    response_model=ReadingsPage,
    summary="Raw readings of a point",
)
def point_readings(
    ctx: Ctx,
    who: Reader,
    asked: Annotated[PointRange, Depends(point_range)],
    page: Annotated[PageRequest, Depends(paging(1000))],
) -> Response:
    """Readings as stored (the point's unit, before the meter multiplier), ordered by time."""
    check_range(ctx, asked.start, asked.end)
    zone = zone_of(ctx, asked.tz)
    limit = page.size(ctx)
    after = page.after_instant()
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, asked.code)
        pt = point_of(conn, enterprise_id=ent.id, meter=asked.meter, quantity=asked.point)
        if pt is None:
            raise Problem(404, f"no point {asked.point} on meter {asked.meter}")
        rows = readings_page(
            conn,
            point_id=pt.id,
            start=asked.start,
            end=asked.end,
            limit=limit + 1,
            after=after,
        )
    out = ReadingsPage(
        meter=asked.meter,
        point=asked.point,
        unit=pt.unit,
        items=[ReadingOut(ts=r.ts.astimezone(zone), value=r.value) for r in rows[:limit]],
        next_cursor=page.next_cursor(rows, lambda r: r.ts.isoformat()),
    )
    return model_response(ReadingsPage, out)
