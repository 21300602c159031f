"""Consumption by period and carrier, and standard coal and CO2 by period, from the rollups.

The API, the alerts service and ``energymon report`` call these, so the numbers are the same
everywhere. Only the roles that add up to a whole count toward an enterprise's or site's
consumption (services/core/domain/roles.py); sub-meters and IT meters explain where energy went
and are never added on top.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy import Connection as _Connection
from sqlalchemy.dialects.postgresql import INTERVAL, aggregate_order_by

from services.core.domain.coefficients import Converted, ElectricityMethod, FactorSet
from services.core.domain.quantities import COUNTED_QUANTITIES
from services.core.schema.tables import enterprises, meters, points
from services.core.store.completeness import (
    Owed,
    expected_sql,
    measured_sql,
    owed_ids,
    owed_params,
    owed_points_select,
    owed_rows,
    owed_table,
)
from services.core.store.factors import factors_of_enterprise, measuring_enterprises
from services.core.store.rollups import (
    WindowShape,
    midnight,
    shaped_window_source,
    window_plan,
)
from services.core.store.scope import Scope, points_where, scope_conditions, source_join

Connection = _Connection

PERIODS = {"15m": None, "1h": "hour", "1d": "day", "1mo": "month", "1y": "year"}
_TOTAL_PERIODS = {"1d": "day", "1mo": "month", "1y": "year"}
_STAMP = TIMESTAMP(timezone=True)


@dataclass(frozen=True, slots=True)
class PeriodConsumption:
    period: datetime  # local start of the period
    carrier: str
    quantity: str
    unit: str
    amount: float
    completeness: float
    estimated: bool


@dataclass(frozen=True, slots=True)
class CarrierTotal:
    carrier: str
    unit: str
    amount: float
    kgce: Converted | None
    tco2: Converted | None
    region: str = "national"  # the grid region whose electricity factor applied


@dataclass(frozen=True, slots=True)
class Amount:
    """A summed amount of a carrier in a unit (and grid region) in a period."""

    period: datetime
    carrier: str
    unit: str
    region: str | None
    amount: float

    @property
    def key(self) -> tuple[datetime, str, str, str | None]:
        return (self.period, self.carrier, self.unit, self.region)


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    start: datetime  # the local start of the period, or the window's start if later
    end: datetime
    carriers: list[CarrierTotal]


def _local_trunc(unit: str, ts: Any, zone: ZoneInfo) -> Any:
    """The local start of the day/month/year holding ``ts``, as an instant."""
    return func.timezone(zone.key, func.date_trunc(unit, func.timezone(zone.key, ts)))


_PERIOD_STEP = {None: "15 minutes", "hour": "1 hour"}


def _period_end_sql(period: Any, trunc: str | None, zone: ZoneInfo) -> Any:
    """SQL: the end of the output period starting at ``period`` (local calendar arithmetic)."""
    if trunc in _PERIOD_STEP:
        return period + cast(literal(_PERIOD_STEP[trunc]), INTERVAL)
    local = func.timezone(zone.key, period) + cast(literal(f"1 {trunc}"), INTERVAL)
    return func.timezone(zone.key, local)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a consumption statement's text depends on; everything else is a parameter."""

    interval: str
    zone: str
    scope: tuple[str, ...]
    window: WindowShape


def _prepare(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    interval: str,
    zone: ZoneInfo,
    scope: Scope,
    now: datetime | None,
) -> tuple[_Shape, dict[str, Any]]:
    """The shape of the consumption statement of a call and its parameters (reading what each
    point owes over the window)."""
    rows = conn.execute(owed_points_select(scope.shape()), scope.params())
    points_owed = owed_rows(rows, start=start, end=end, zone=zone, now=now)
    # periods of a day or longer may read whole days from the daily rollups, and periods of a
    # month or longer whole months from the monthly ones, unless a point's registered service
    # starts or ends inside one of them (its measured periods count from that day on)
    trunc = PERIODS[interval]
    window, bounds = window_plan(
        start,
        end,
        None if trunc in (None, "hour") else zone,
        months=trunc in ("month", "year") and not _splits_a_month(points_owed, start, end, zone),
    )
    params = {"start": start, "end": end, **bounds, **owed_params(points_owed, "o")}
    # the statement reads the scope's points from what they owe: its text is the same for
    # every scope
    return _Shape(interval, zone.key, (), window), params


def _splits_a_month(
    points_owed: list[Owed], start: datetime, end: datetime, zone: ZoneInfo
) -> bool:
    """Some point's registered service starts or ends after a local month's first midnight
    inside [start, end)."""
    for o in points_owed:
        for day in o.registered:
            if day is not None and start < day < end and day.astimezone(zone).day != 1:
                return True
    return False


# what a row's measured periods are counted from (measured_sql) and grouped by, and what a
# period's expected ones are computed from (expected_sql)
_MEASURED_COLUMNS = (
    "point_id",
    "period_s",
    "reg_since",
    "reg_until",
    "carrier",
    "quantity",
    "unit",
)
_EXPECTED_COLUMNS = ("period_s", "since", "until", "carrier", "quantity")


@lru_cache(maxsize=256)
def _consumption_select(shape: _Shape) -> Select[Any]:
    """(period, carrier, quantity, unit, amount, completeness, estimated) per period and
    carrier, ordered. Completeness: measured / expected collection periods of the group's points
    in the period (services/core/store/completeness.py)."""
    trunc, zone = PERIODS[shape.interval], ZoneInfo(shape.zone)
    # the points are those the scope owes (read by _prepare with the scope's conditions), the
    # same arrays twice: each row's own point, and all of them for what a period expects
    mine = owed_table(None, "o", columns=_MEASURED_COLUMNS)
    theirs = owed_table(None, "o", alias="e", columns=_EXPECTED_COLUMNS)
    c = shaped_window_source(shape.window, owed_ids("o"))
    period = (c.c.ts if trunc is None else _local_trunc(trunc, c.c.ts, zone)).label("period")
    sums = (
        select(
            period,
            mine.c.carrier,
            mine.c.quantity,
            mine.c.unit,
            func.sum(c.c.energy).label("amount"),
            func.sum(measured_sql(c, mine, zone)).label("measured"),
            func.bool_or(c.c.estimated).label("estimated"),
        )
        .select_from(c)
        .join(mine, mine.c.point_id == c.c.point_id)
        .group_by(period, mine.c.carrier, mine.c.quantity, mine.c.unit)
        .subquery("s")
    )
    lo = func.greatest(sums.c.period, bindparam("start", type_=_STAMP))
    hi = func.least(_period_end_sql(sums.c.period, trunc, zone), bindparam("end", type_=_STAMP))
    expected = (
        select(func.sum(expected_sql(theirs, lo, hi, zone)))
        .select_from(theirs)
        .where(theirs.c.quantity == sums.c.quantity, theirs.c.carrier == sums.c.carrier)
        .scalar_subquery()
    )
    # plain "/": SQLAlchemy's true division would cast the divisor to NUMERIC; nothing
    # expected (a point outside its service): 0
    completeness = func.coalesce(
        func.least(
            1.0, cast(sums.c.measured, Float).op("/")(func.nullif(cast(expected, Float), 0))
        ),
        0,
    )
    # the columns are the API's fields, in its order: the JSON statement turns whole rows into
    # objects
    return select(
        sums.c.period,
        sums.c.carrier,
        sums.c.quantity,
        sums.c.unit,
        sums.c.amount,
        completeness.label("completeness"),
        func.coalesce(sums.c.estimated, False).label("estimated"),
    ).order_by(sums.c.period, sums.c.carrier, sums.c.quantity)


def consumption(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    interval: str,
    zone: ZoneInfo,
    scope: Scope,
    now: datetime | None = None,
) -> list[PeriodConsumption]:
    """Consumption per period (``interval``: 15m, 1h, 1d, 1mo, 1y) and carrier of ``scope`` in
    [start, end), with its completeness as of ``now`` (default: the clock)."""
    shape, params = _prepare(
        conn, start=start, end=end, interval=interval, zone=zone, scope=scope, now=now
    )
    return [
        PeriodConsumption(
            period=r.period.astimezone(zone),
            carrier=r.carrier,
            quantity=r.quantity,
            unit=r.unit,
            amount=float(r.amount),
            completeness=float(r.completeness or 0.0),
            estimated=bool(r.estimated),
        )
        for r in conn.execute(_consumption_select(shape), params)
    ]


def consumption_json(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    interval: str,
    zone: ZoneInfo,
    scope: Scope,
    now: datetime | None = None,
) -> bytes:
    """:func:`consumption`'s rows as a JSON array of objects with the same fields, built by
    PostgreSQL from the same statement (the API passes it through: a year of days costs the API
    no per-row work). Periods are ISO 8601 local times with their offset in ``zone``; formatting
    them is ~5 times cheaper when ``zone`` is the session's TimeZone (the API's engine sets it to
    the configured zone)."""
    shape, params = _prepare(
        conn, start=start, end=end, interval=interval, zone=zone, scope=scope, now=now
    )
    stmt = _consumption_json_select(shape, _session_zone(conn) == zone.key)
    doc = conn.execute(stmt, params).scalar_one()
    return b"[]" if doc is None else str(doc).encode()


def _session_zone(conn: Connection) -> str | None:
    """The session's TimeZone as the server last reported it (PostgreSQL reports the setting to
    the client whenever it changes: no round trip)."""
    info = getattr(conn.connection.dbapi_connection, "info", None)
    return None if info is None else info.parameter_status("TimeZone")


@lru_cache(maxsize=256)
def _consumption_json_select(shape: _Shape, in_session_zone: bool) -> Select[Any]:
    """:func:`consumption_json`'s statement: one JSON document of the rows (NULL: none), each
    row an object of its columns. ``in_session_zone``: the periods' zone is the session's, so
    PostgreSQL writes their offset itself; otherwise each period is formatted beside its row."""
    r = _consumption_select(shape).order_by(None).subquery("r")  # the aggregate orders
    order = (r.c.period, r.c.carrier, r.c.quantity)
    if in_session_zone:
        doc = func.json_agg(aggregate_order_by(r.table_valued(), *order))
        return select(cast(doc, Text).label("doc")).select_from(r)
    fields = [
        c if c is not r.c.period else _iso_local(c, ZoneInfo(shape.zone)).label("period")
        for c in r.c
    ]
    row = select(*fields).correlate(r).lateral("j")
    doc = func.json_agg(aggregate_order_by(row.table_valued(), *order))
    return select(cast(doc, Text).label("doc")).select_from(r).join(row, true())


def _iso_local(ts: Any, zone: ZoneInfo) -> Any:
    """SQL: the instant ``ts`` as ISO 8601 local time in ``zone`` with its UTC offset."""
    # the zone's UTC offset at the instant, in seconds
    off = cast(
        func.extract("epoch", func.timezone(zone.key, ts) - func.timezone("UTC", ts)), Integer
    )
    # integer division ("/" on integers), not SQLAlchemy's true division
    hours = func.abs(off).op("/")(3600)
    minutes = (func.abs(off) % 3600).op("/")(60)
    return (
        func.to_char(func.timezone(zone.key, ts), 'YYYY-MM-DD"T"HH24:MI:SS')
        + case((off < 0, "-"), else_="+")
        + func.lpad(cast(hours, Text), 2, "0")
        + ":"
        + func.lpad(cast(minutes, Text), 2, "0")
    )


def totals(
    conn: Connection,
    factors: FactorSet,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    scope: Scope,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
) -> list[CarrierTotal]:
    """Per carrier (and, for electricity, per grid region of the enterprises in the scope): the
    amount, its standard coal and its CO2 with the factors valid at ``start`` (a report covers
    one period with one factor set)."""
    periods = totals_by_period(
        conn,
        factors,
        start=start,
        end=end,
        zone=zone,
        interval=None,
        method=method,
        scope=scope,
    )
    return periods[0].carriers if periods else []


def totals_by_period(
    conn: Connection,
    factors: FactorSet,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    interval: str | None,
    scope: Scope,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
) -> list[PeriodTotals]:
    """:func:`totals` for every local day, month or year (``interval`` 1d, 1mo, 1y; None: the
    whole window as one period) in [start, end), from one grouped statement; each period's
    factors are those valid at its start. Periods without any rollup row are left out."""
    trunc = _TOTAL_PERIODS[interval] if interval is not None else None
    window, bounds = window_plan(start, end, zone, months=trunc != "day")

    def amounts(of: Scope) -> list[Amount]:
        stmt = _totals_select(_Shape(interval or "", zone.key, of.shape(), window))
        params = {"start": start, **of.params(), **bounds}
        return [
            Amount(r.period, r.carrier, r.unit, r.region, float(r.amount))
            for r in conn.execute(stmt, params)
        ]

    # an enterprise's fuels convert by its measured heating values: from a town's or the
    # district's amounts, those of the enterprises that have some are converted with their own
    if scope.enterprise is not None:
        parts = [
            (a, factors_of_enterprise(conn, factors, scope.enterprise)) for a in amounts(scope)
        ]
    else:
        taken: dict[tuple[datetime, str, str, str | None], float] = {}
        theirs = []
        for code, mine in measuring_enterprises(conn, factors, town=scope.town).items():
            for a in amounts(Scope(enterprise=code)):
                taken[a.key] = taken.get(a.key, 0.0) + a.amount
                theirs.append((a, mine))
        rest = [replace(a, amount=a.amount - taken.get(a.key, 0.0)) for a in amounts(scope)]
        parts = [(a, factors) for a in rest if abs(a.amount) > 1e-9] + theirs
    return converted(parts, start=start, end=end, zone=zone, trunc=trunc, method=method)


def converted(
    parts: list[tuple[Amount, FactorSet]],
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    trunc: str | None,
    method: ElectricityMethod,
) -> list[PeriodTotals]:
    """Amounts converted to standard coal and CO2, each with its factor set, by the factors
    valid at the start of its period (or the window's start if later), per period."""
    by_period: dict[datetime, list[CarrierTotal]] = {}
    for r, fs in parts:
        on = max(r.period, start).astimezone(zone).date()
        region = (r.region or "national") if r.carrier == "electricity" else "national"
        kgce = tco2 = None
        if r.carrier != "water":
            kgce = fs.kgce(r.carrier, r.amount, r.unit, on, method)
            tco2 = fs.try_tco2(r.carrier, r.amount, r.unit, on, region)
        by_period.setdefault(r.period, []).append(
            CarrierTotal(r.carrier, r.unit, r.amount, kgce, tco2, region)
        )
    return [
        PeriodTotals(
            start=max(begins.astimezone(zone), start.astimezone(zone)),
            end=min(_period_end(begins.astimezone(zone), trunc, zone, end), end),
            carriers=_merge_fuels(carriers),
        )
        for begins, carriers in by_period.items()
    ]


@lru_cache(maxsize=256)
def _totals_select(shape: _Shape) -> Select[Any]:
    """:func:`totals_by_period`'s statement (``shape.interval`` "": the whole window)."""
    counted = points.c.quantity.in_(COUNTED_QUANTITIES)
    scope = scope_conditions(shape.scope)
    c = shaped_window_source(shape.window, points_where(scope, counted))
    zone = ZoneInfo(shape.zone)
    trunc = _TOTAL_PERIODS.get(shape.interval)
    period = (
        bindparam("start", type_=_STAMP).label("period")
        if trunc is None
        else _local_trunc(trunc, c.c.ts, zone).label("period")
    )
    return (
        source_join(
            select(
                period,
                meters.c.carrier,
                points.c.unit,
                enterprises.c.grid_region.label("region"),
                func.sum(c.c.energy).label("amount"),
            ),
            c,
        )
        .where(*scope, counted)
        .group_by(period, meters.c.carrier, points.c.unit, enterprises.c.grid_region)
        .order_by(period, meters.c.carrier, points.c.unit, enterprises.c.grid_region)
    )


def _period_end(local: datetime, trunc: str | None, zone: ZoneInfo, end: datetime) -> datetime:
    if trunc is None:
        return end
    if trunc == "day":
        return midnight(local.date() + timedelta(days=1), zone)
    if trunc == "month":
        return midnight((local.replace(day=28) + timedelta(days=4)).replace(day=1).date(), zone)
    return midnight(local.date().replace(year=local.year + 1), zone)


def _merge_fuels(rows: list[CarrierTotal]) -> list[CarrierTotal]:
    """One row per (carrier, unit, region): fuels of several regions add up."""
    merged: dict[tuple[str, str, str], CarrierTotal] = {}
    for r in rows:
        key = (r.carrier, r.unit, r.region)
        old = merged.get(key)
        merged[key] = (
            r
            if old is None
            else CarrierTotal(
                r.carrier,
                r.unit,
                old.amount + r.amount,
                _add(old.kgce, r.kgce),
                _add(old.tco2, r.tco2),
                r.region,
            )
        )
    return list(merged.values())


def _add(a: Converted | None, b: Converted | None) -> Converted | None:
    if a is None or b is None:
        return a or b
    return Converted(a.value + b.value, a.factor, a.note or b.note)
