"""Writing the monthly rollups: ``consumption_1mo`` is ``consumption_1d`` summed per local month
(the month's first day), so a month's energy and its measured and estimated collection periods
are exactly its days'.

Written only from :mod:`services.accounting.days`, in the transaction that writes the days, so a
month never disagrees with its days; the months are in the zone the days were built in
(``rollup_meta.days_zone``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, bindparam, cast, delete, func, insert, select

from services.core.schema.tables import consumption_1d, consumption_1mo

_MONTH_COLUMNS = [
    "point_id",
    "month",
    "energy",
    "readings",
    "expected",
    "estimated",
    "measured_periods",
    "estimated_periods",
]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def _per_month(*conds: Any) -> Any:
    d = consumption_1d.c
    month = cast(func.date_trunc("month", d.day), Date).label("month")
    return (
        select(
            d.point_id,
            month,
            func.sum(d.energy),
            func.sum(d.readings),
            func.sum(d.expected),
            func.bool_or(d.estimated),
            func.sum(d.measured_periods),
            func.sum(d.estimated_periods),
        )
        .where(*conds)
        .group_by(d.point_id, month)
    )


_mo, _d = consumption_1mo.c, consumption_1d.c
# built once, the values bound at each point's refresh
_CLEAR = delete(consumption_1mo).where(
    _mo.point_id == bindparam("pid"), _mo.month >= bindparam("m0"), _mo.month <= bindparam("m1")
)
_WRITE = insert(consumption_1mo).from_select(
    _MONTH_COLUMNS,
    _per_month(
        _d.point_id == bindparam("pid"), _d.day >= bindparam("m0"), _d.day < bindparam("after")
    ),
)


def refresh_months(conn: Connection, pid: int, d0: date, d1: date) -> None:
    """Recompute the local months of ``pid`` that the days [d0, d1] belong to (after their days
    were rewritten): a month without days left has no row."""
    m0 = first_of_month(d0)
    m1 = first_of_month(d1)
    conn.execute(_CLEAR, {"pid": pid, "m0": m0, "m1": m1})
    after = (
        m1.replace(year=m1.year + 1, month=1) if m1.month == 12 else m1.replace(month=m1.month + 1)
    )
    conn.execute(_WRITE, {"pid": pid, "m0": m0, "after": after})


def rebuild_months(conn: Connection) -> int:
    """Rebuild every monthly rollup from the daily ones."""
    conn.execute(delete(consumption_1mo))
    rows = conn.execute(insert(consumption_1mo).from_select(_MONTH_COLUMNS, _per_month())).rowcount
    return int(rows or 0)
