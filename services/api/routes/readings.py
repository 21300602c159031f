"""Raw readings of one point, in a bounded time range, paginated."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from services.api import pagination
from services.api.deps import Ctx, Reader
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.readings import ReadingOut, ReadingsPage
from services.api.params import Code, Cursor, Limit, Meter, PageRequest, check_range, zone_of
from services.api.problems import Problem
from services.api.render import model_response
from services.api.tenancy import visible_enterprise
from services.core.schema.tables import meters, points, readings

router = APIRouter(prefix="/api/v1", tags=["readings"], responses=STANDARD_PROBLEMS)


@router.get(
    "/enterprises/{code}/meters/{meter}/points/{point}/readings",
    response_model=ReadingsPage,
    summary="Raw readings of a point",
)
def point_readings(
    ctx: Ctx,
    who: Reader,
    code: Code,
    meter: Meter,
    point: Annotated[str, Path(description="The point's quantity, e.g. energy_import_kwh")],
    start: Annotated[datetime, Query(alias="from", description="ISO 8601 with offset")],
    end: Annotated[datetime, Query(alias="to", description="ISO 8601 with offset, exclusive")],
    tz: Annotated[str | None, Query(description="IANA zone for the output offsets")] = None,
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> Response:
    """Readings as stored (the point's unit, before the meter multiplier), ordered by time."""
    check_range(ctx, start, end)
    zone = zone_of(ctx, tz)
    limit = PageRequest(limit).size(ctx)
    after = pagination.decode(cursor)
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        pt = conn.execute(
            select(points.c.id, points.c.unit)
            .join(meters, meters.c.id == points.c.meter_id)
            .where(
                meters.c.enterprise_id == ent.id, meters.c.code == meter, points.c.quantity == point
            )
        ).first()
        if pt is None:
            raise Problem(404, f"no point {point} on meter {meter}")
        stmt = (
            select(readings.c.ts, readings.c.value)
            .where(readings.c.point_id == pt.id, readings.c.ts >= start, readings.c.ts < end)
            .order_by(readings.c.ts)
            .limit(limit + 1)
        )
        if after is not None:
            stmt = stmt.where(readings.c.ts > datetime.fromisoformat(str(after)))
        rows = conn.execute(stmt).all()
    items = [ReadingOut(ts=r.ts.astimezone(zone), value=r.value) for r in rows[:limit]]
    nxt = pagination.encode(rows[limit - 1].ts.isoformat()) if len(rows) > limit else None
    out = ReadingsPage(meter=meter, point=point, unit=pt.unit, items=items, next_cursor=nxt)
    return model_response(ReadingsPage, out)
