"""Energy and completeness of products and enterprises per run of local months, summed in one
grouped statement from the monthly rollups.

``consumption_1mo`` is ``consumption_1d`` summed per month by the accounting service, with each
month's measured and estimated collection periods. One statement sums each point's months per
run (consecutive months the caller sums together, e.g. those converted with the same factors),
caps its measured and estimated periods at what the point owes the run, and sums per product (its
attributed points, each times its share) or enterprise (its counted points), run, carrier and
unit. What a point owes follows from its service span (services/core/store/completeness.py: the
one definition of completeness), computed here and passed as arrays; the statement is built
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from services.core.domain.completeness import Completeness, ServiceSpan, local_midnight
from services.core.errors import EnergymonError
from services.core.schema.tables import consumption_1mo
from services.core.store.completeness import Owed, owed
from services.core.store.intensity_reads import members_select
from services.core.store.rollups import days_zone


class MonthsInAnotherZoneError(EnergymonError):
    def __init__(self, built: str, asked: str) -> None:
        super().__init__(
            f"the monthly rollups were built in {built}, not {asked}: "
            "run 'energymon accounting rebuild-days'"
        )


@dataclass(frozen=True, slots=True)
class CarrierSum:
    carrier: str
    unit: str
    amount: float  # Σ point energy x share, in ``unit``


@dataclass(slots=True)
class OwnerMonth:
    """A product's (``kind`` "product") or an enterprise's ("enterprise") month."""

    carriers: list[CarrierSum] = field(default_factory=list)
    completeness: Completeness = field(default_factory=lambda: Completeness(0, 0, 0))


def month_after(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


@lru_cache(maxsize=1)
def _grouped_select() -> Select[Any]:
    """The grouped sums: each point's months summed per run first, capped at what the point
    owes the run (``owed_*`` arrays: point, run, expected periods), then per owner, run,
    carrier and unit."""
    mem = members_select().subquery("mem")
    months = (
        func.unnest(
            bindparam("monthly_months", type_=ARRAY(Date)),
            bindparam("monthly_runs", type_=ARRAY(Date)),
        )
        .table_valued(column("month", Date), column("run", Date))
        .render_derived(name="months")
    )
    owes = (
        func.unnest(
            bindparam("owed_point_id", type_=ARRAY(Integer)),
            bindparam("owed_run", type_=ARRAY(Date)),
            bindparam("owed_expected", type_=ARRAY(Integer)),
        )
        .table_valued(column("point_id", Integer), column("run", Date), column("expected", Integer))
        .render_derived(name="owes")
    )
    mo = consumption_1mo.c
    per_point = (
        select(
            mo.point_id,
            months.c.run,
            func.sum(mo.energy).label("energy"),
            func.sum(mo.measured_periods).label("measured"),
            func.sum(mo.estimated_periods).label("estimated"),
        )
        .select_from(consumption_1mo)
        .join(months, months.c.month == mo.month)
        .where(mo.point_id == func.any(bindparam("monthly_point_ids", type_=ARRAY(Integer))))
        .group_by(mo.point_id, months.c.run)
        .subquery("pp")
    )
    source = mem.join(owes, owes.c.point_id == mem.c.point_id).outerjoin(
        per_point, and_(per_point.c.point_id == mem.c.point_id, per_point.c.run == owes.c.run)
    )
    return (
        select(
            mem.c.kind,
            mem.c.owner,
            owes.c.run,
            mem.c.carrier,
            mem.c.unit,
            func.sum(func.coalesce(per_point.c.energy, 0) * mem.c.share).label("energy"),
            func.sum(owes.c.expected).label("expected"),
            func.sum(func.least(func.coalesce(per_point.c.measured, 0), owes.c.expected)).label(
                "measured"
            ),
            func.sum(func.least(func.coalesce(per_point.c.estimated, 0), owes.c.expected)).label(
                "estimated"
            ),
        )
        .select_from(source)
        .group_by(mem.c.kind, mem.c.owner, owes.c.run, mem.c.carrier, mem.c.unit)
    )


def _owes(spans: Sequence[Owed], runs: dict[date, date], zone: ZoneInfo) -> dict[str, list[Any]]:
    """What each point owes each run: its service span within the run's months (periods align
    to local midnights, so a run's count is the sum of its months')."""
    bounds: dict[date, tuple[datetime, datetime]] = {}
    for month, run in sorted(runs.items()):
        lo, hi = bounds.get(run, (local_midnight(month, zone), local_midnight(month, zone)))
        bounds[run] = (lo, local_midnight(month_after(month), zone))
    whole: dict[tuple[date, int], int] = {}
    out: dict[str, list[Any]] = {"owed_point_id": [], "owed_run": [], "owed_expected": []}
    for o in spans:
        for run, (lo, hi) in bounds.items():
            if o.span.since <= lo and hi <= o.span.until:
                if (run, o.period_s) not in whole:
                    whole[(run, o.period_s)] = ServiceSpan(lo, hi).expected(o.period_s, zone)
                expected = whole[(run, o.period_s)]
            else:
                span = ServiceSpan(max(o.span.since, lo), min(o.span.until, hi))
                expected = span.expected(o.period_s, zone)
            out["owed_point_id"].append(o.point_id)
            out["owed_run"].append(run)
            out["owed_expected"].append(expected)
    return out


def owner_months(
    conn: Connection,
    *,
    product_ids: Sequence[int],
    enterprise_ids: Sequence[int],
    point_ids: Sequence[int],
    runs: dict[date, date],
    zone: ZoneInfo,
    now: datetime | None = None,
) -> dict[tuple[str, int, date], OwnerMonth]:
    """Each product's and enterprise's energy per carrier and completeness, summed over runs of
    months: ``runs`` maps each month wanted (first local days) to the first month of its run
    (months summed together, e.g. those converted with the same factors), and the answer is by
    ``(kind, id, first month of the run)``; ``point_ids``: every point they take. Raises
    :class:`MonthsInAnotherZoneError` when the rollups are in another zone."""
    ids = sorted(set(point_ids))
    wanted = sorted(runs)
    if not ids or not wanted:
        return {}
    built = days_zone(conn)
    if built not in (None, zone.key):
        raise MonthsInAnotherZoneError(built, zone.key)
    lo = datetime.combine(wanted[0], datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(month_after(wanted[-1]), datetime.min.time(), tzinfo=zone)
    ids_param = bindparam("monthly_point_ids", ids, type_=ARRAY(Integer))
    spans = owed(
        conn,
        ids=select(func.unnest(ids_param)),
        start=lo,
        end=hi,
        zone=zone,
        now=now if now is not None else datetime.now(UTC),
    )
    params = {
        "members_product_ids": list(product_ids),
        "members_enterprise_ids": list(enterprise_ids),
        "monthly_point_ids": ids,
        "monthly_months": wanted,
        "monthly_runs": [runs[m] for m in wanted],
        **_owes(spans, runs, zone),
    }
    out: dict[tuple[str, int, date], OwnerMonth] = {}
    for r in conn.execute(_grouped_select(), params).all():
        one = out.setdefault((r.kind, int(r.owner), r.run), OwnerMonth())
        one.carriers.append(CarrierSum(r.carrier, r.unit, float(r.energy)))
        c = one.completeness
        one.completeness = Completeness(
            c.expected + int(r.expected),
            c.measured + int(r.measured),
            c.estimated + int(r.estimated),
        )
    return out
