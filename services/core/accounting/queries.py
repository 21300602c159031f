"""Query functions over the 15-minute rollups: consumption by period, standard coal and CO2,
and a data centre's PUE over a window with coverage. The API, the alerts service and
`energymon report` call these, so the numbers are the same everywhere.

Only boundary meters count towards an enterprise's or site's consumption (utility incomers and
fuel receipts, a data centre's facility meters); sub-meters and IT meters explain where energy went
and are never added on top (DOMAIN.md, meter hierarchy).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.core.accounting.days import fifteen_minute_source, midnight, window_source
from services.core.domain.coefficients import Converted, ElectricityMethod, FactorSet
from services.core.domain.pue import PueResult, pue

PERIODS = {"15m": None, "1h": "hour", "1d": "day", "1mo": "month", "1y": "year"}
_CARRIER_UNIT = {
    "energy_import_kwh": "kWh",
    "gas_volume_m3": "m3",
    "steam_mass_t": "t",
    "heat_energy_gj": "GJ",
    "water_volume_m3": "m3",
    "fuel_mass_kg": "kg",
}
COUNTED_QUANTITIES = tuple(_CARRIER_UNIT)  # the points whose amounts are energy (or water) used


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
class Scope:
    """Whose consumption: the district (nothing set), a town, an enterprise, one of its sites,
    one meter (any role: a sub-meter's own use) or one point of it."""

    enterprise: str | None = None
    site: str | None = None
    meter: str | None = None
    quantity: str | None = None
    town: str | None = None

    def sql(self) -> str:
        """WHERE conditions over e (enterprises), s (sites), m (meters), p (points)."""
        conds = ["e.active", "m.active", "p.active"]
        for column, name in (
            ("e.code", "enterprise"),
            ("s.code", "site"),
            ("m.code", "meter"),
            ("p.quantity", "quantity"),
            ("e.town", "town"),
        ):
            if getattr(self, name) is not None:
                conds.append(f"{column} = :scope_{name}")
        if self.meter is None:  # only boundary meters add up to a whole
            conds.append("m.role IN ('boundary', 'facility_total')")
        return " AND ".join(conds)

    def params(self) -> dict[str, str]:
        return {
            f"scope_{name}": value
            for name in ("enterprise", "site", "meter", "quantity", "town")
            if (value := getattr(self, name)) is not None
        }


def consumption(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    interval: str,
    zone: ZoneInfo,
    enterprise: str | None = None,
    site: str | None = None,
    scope: Scope | None = None,
) -> list[PeriodConsumption]:
    """Consumption per period and carrier of a scope (default: ``enterprise``, or one of its
    sites) in [start, end)."""
    sql, params = _consumption_sql(
        start, end, interval, zone, scope or Scope(enterprise=enterprise, site=site)
    )
    return [
        PeriodConsumption(
            period.astimezone(zone),
            carrier,
            quantity,
            unit,
            float(amount),
            float(completeness or 0.0),
            bool(estimated),
        )
        for period, carrier, quantity, unit, amount, completeness, estimated in conn.execute(
            text(sql), params
        ).all()
    ]


def consumption_json(
    conn: Connection, *, start: datetime, end: datetime, interval: str, zone: ZoneInfo, scope: Scope
) -> bytes:
    """:func:`consumption`'s rows as a JSON array of objects with the same fields, built by
    PostgreSQL from the same statement (the API passes it through: a year of days costs the API
    no per-row work). Periods are ISO 8601 local times with their offset in ``zone``; formatting
    them is ~5 times cheaper when ``zone`` is the session's TimeZone (the API's engine sets it to
    the configured zone)."""
    sql, params = _consumption_sql(start, end, interval, zone, scope)
    doc = conn.execute(
        text(f"""
        SELECT coalesce(json_agg(json_build_object(
                   'period', CASE WHEN current_setting('TimeZone') = :zone
                       THEN to_json(r.period)  -- the session's zone: ISO 8601 with offset
                       ELSE to_json(
                           to_char(r.period AT TIME ZONE :zone, 'YYYY-MM-DD"T"HH24:MI:SS')
                           || CASE WHEN o.off < 0 THEN '-' ELSE '+' END
                           || lpad((abs(o.off) / 3600)::text, 2, '0') || ':'
                           || lpad((abs(o.off) % 3600 / 60)::text, 2, '0')) END,
                   'carrier', r.carrier, 'quantity', r.quantity, 'unit', r.unit,
                   'amount', r.amount, 'completeness', coalesce(r.completeness, 0),
                   'estimated', coalesce(r.estimated, false))
                   ORDER BY r.period, r.carrier, r.quantity), '[]')::text
        FROM ({sql}) r
        CROSS JOIN LATERAL (  -- the zone's UTC offset at the period's start, in seconds
            SELECT CASE WHEN current_setting('TimeZone') <> :zone
                        THEN extract(epoch FROM (r.period AT TIME ZONE :zone)
                                                - (r.period AT TIME ZONE 'UTC'))::int
                   END AS off) o"""),
        params,
    ).scalar_one()
    return str(doc).encode()


def _consumption_sql(
    start: datetime, end: datetime, interval: str, zone: ZoneInfo, scope: Scope
) -> tuple[str, dict[str, Any]]:
    """The statement behind :func:`consumption`: (period, carrier, quantity, unit, amount,
    completeness, estimated) per period and carrier, ordered."""
    trunc = PERIODS[interval]
    # periods of a day or longer may read whole days from the daily rollups
    source, params = _source(
        start,
        end,
        None if trunc in (None, "hour") else zone,
        _SCOPED_POINTS.format(scope.sql()),
    )
    period = (
        "c.ts"
        if trunc is None
        else f"date_trunc('{trunc}', c.ts AT TIME ZONE :zone) AT TIME ZONE :zone"
    )
    sql = f"""
        SELECT {period} AS period, m.carrier, p.quantity, p.unit, sum(c.energy) AS amount,
               least(1.0, sum(c.readings)::float / nullif(sum(c.expected), 0)) AS completeness,
               bool_or(c.estimated) AS estimated
        FROM {source} c
        JOIN points p ON p.id = c.point_id JOIN meters m ON m.id = p.meter_id
        JOIN sites s ON s.id = m.site_id JOIN enterprises e ON e.id = m.enterprise_id
        WHERE {scope.sql()}
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3"""
    return sql, {**params, **scope.params(), "zone": zone.key}


@dataclass(frozen=True, slots=True)
class CarrierTotal:
    carrier: str
    unit: str
    amount: float
    kgce: Converted | None
    tco2: Converted | None
    region: str = "national"  # the grid region whose electricity factor applied


def totals(
    conn: Connection,
    factors: FactorSet,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
    enterprise: str | None = None,
    scope: Scope | None = None,
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
        scope=scope or Scope(enterprise=enterprise),
    )
    return periods[0].carriers if periods else []


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    start: datetime  # the local start of the period, or the window's start if later
    end: datetime
    carriers: list[CarrierTotal]


_TOTAL_PERIODS = {"1d": "day", "1mo": "month", "1y": "year"}


def totals_by_period(
    conn: Connection,
    factors: FactorSet,
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    interval: str | None,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
    scope: Scope,
) -> list[PeriodTotals]:
    """:func:`totals` for every local day, month or year (``interval`` 1d, 1mo, 1y; None: the
    whole window as one period) in [start, end), from one grouped statement; each period's
    factors are those valid at its start. Periods without any rollup row are left out."""
    counted = "p.quantity IN (" + ", ".join(f"'{q}'" for q in _CARRIER_UNIT) + ")"
    source, params = _source(
        start, end, zone, _SCOPED_POINTS.format(f"{scope.sql()} AND {counted}")
    )
    trunc = _TOTAL_PERIODS[interval] if interval is not None else None
    period = (
        "CAST(:w_start AS timestamptz)"
        if trunc is None
        else f"date_trunc('{trunc}', c.ts AT TIME ZONE :zone) AT TIME ZONE :zone"
    )
    rows = conn.execute(
        text(f"""
        SELECT {period} AS period, m.carrier, p.unit, e.grid_region AS region,
               sum(c.energy) AS amount
        FROM {source} c
        JOIN points p ON p.id = c.point_id JOIN meters m ON m.id = p.meter_id
        JOIN sites s ON s.id = m.site_id JOIN enterprises e ON e.id = m.enterprise_id
        WHERE {scope.sql()} AND {counted}
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""),
        {**params, **scope.params(), "zone": zone.key, "w_start": start},
    ).all()
    by_period: dict[datetime, list[CarrierTotal]] = {}
    for begins, carrier, unit, region, amount in rows:
        on = max(begins, start).astimezone(zone).date()
        if carrier != "electricity":
            region = "national"  # noqa: PLW2901 - fuels have one factor everywhere
        kgce = tco2 = None
        if carrier != "water":
            kgce = factors.kgce(carrier, float(amount), unit, on, method)
            tco2 = factors.tco2(carrier, float(amount), unit, on, region or "national")
        by_period.setdefault(begins, []).append(
            CarrierTotal(carrier, unit, float(amount), kgce, tco2, region or "national")
        )
    out = []
    for begins, carriers in by_period.items():
        local = begins.astimezone(zone)
        if trunc is None:
            stop = end
        elif trunc == "day":
            stop = midnight(local.date() + timedelta(days=1), zone)
        elif trunc == "month":
            stop = midnight((local.replace(day=28) + timedelta(days=4)).replace(day=1).date(), zone)
        else:
            stop = midnight(local.date().replace(year=local.year + 1), zone)
        out.append(
            PeriodTotals(max(local, start.astimezone(zone)), min(stop, end), _merge_fuels(carriers))
        )
    return out


def _merge_fuels(rows: list[CarrierTotal]) -> list[CarrierTotal]:
    """One row per (carrier, unit, region): fuels of several regions add up."""
    merged: dict[tuple[str, str, str], CarrierTotal] = {}
    for r in rows:
        key = (r.carrier, r.unit, r.region)
        old = merged.get(key)
        if old is None:
            merged[key] = r
            continue
        merged[key] = CarrierTotal(
            r.carrier,
            r.unit,
            old.amount + r.amount,
            _add(old.kgce, r.kgce),
            _add(old.tco2, r.tco2),
            r.region,
        )
    return list(merged.values())


def _add(a: Converted | None, b: Converted | None) -> Converted | None:
    if a is None or b is None:
        return a or b
    return Converted(a.value + b.value, a.factor, a.note or b.note)


def site_pue(
    conn: Connection,
    *,
    enterprise: str,
    site: str,
    start: datetime,
    end: datetime,
    threshold: float = 0.9,
    zone: ZoneInfo | None = None,
) -> PueResult:
    """PUE of a data-centre site over [start, end): facility meters over IT meters. Each side's
    coverage = readings present / readings expected, expected counted from the later of the
    window's start and the point's first reading (a site is not short of data for the months
    before it was connected). ``zone``: the calendar zone, to read whole days from the daily
    rollups."""
    source, params = _source(
        start,
        end,
        zone,
        _SCOPED_POINTS.format(
            "e.code = :ent AND s.code = :site AND m.role IN ('facility_total', 'it_load') "
            "AND p.quantity = 'energy_import_kwh'"
        ),
    )
    rows = conn.execute(
        text(f"""
        SELECT m.role, p.interval_s,
               coalesce(sum(c.energy), 0) AS energy, coalesce(sum(c.readings), 0) AS readings,
               (SELECT min(f.bucket) FROM consumption_15m f WHERE f.point_id = p.id) AS first
        FROM meters m JOIN sites s ON s.id = m.site_id
        JOIN enterprises e ON e.id = m.enterprise_id
        JOIN points p ON p.meter_id = m.id AND p.quantity = 'energy_import_kwh' AND p.active
        LEFT JOIN {source} c ON c.point_id = p.id
        WHERE e.code = :ent AND s.code = :site AND m.active
          AND m.role IN ('facility_total', 'it_load')
        GROUP BY m.role, p.id, p.interval_s"""),
        {**params, "ent": enterprise, "site": site},
    ).all()
    return _pue_of(rows, start, end, threshold)


def _pue_of(rows: Iterable[Any], start: datetime, end: datetime, threshold: float) -> PueResult:
    """PUE from (role, interval_s, energy, readings, first bucket) rows of one site's points.
    Expected readings count from the later of the window start and the point's first data."""
    sides = {"facility_total": [0.0, 0.0, 0.0], "it_load": [0.0, 0.0, 0.0]}
    for role, interval_s, energy, readings, first in rows:
        side = sides[role]
        side[0] += float(energy)
        side[1] += float(readings)
        side[2] += expected_readings(start, end, first, interval_s)
    fac, it = sides["facility_total"], sides["it_load"]
    return pue(
        fac[0],
        it[0],
        facility_coverage=min(1.0, fac[1] / fac[2]) if fac[2] else 0.0,
        it_coverage=min(1.0, it[1] / it[2]) if it[2] else 0.0,
        threshold=threshold,
    )


def expected_readings(
    start: datetime, end: datetime, first: datetime | None, interval_s: int
) -> int:
    """Readings a point owes over [start, end): one per interval (at least one per 15-minute
    bucket), counted from the later of ``start`` and its first reading (``first``; None: it
    never reported, so it owes them all). A point first heard of after ``end`` owes none."""
    since = max(start, first) if first is not None else start
    if since >= end:
        return 0
    slots = max(1, int((end - since).total_seconds() // 900))
    return slots * max(1, 900 // interval_s)


def _source(
    start: datetime,
    end: datetime,
    zone: ZoneInfo | None,
    points: str | None = None,
) -> tuple[str, dict[str, Any]]:
    if zone is None:
        return fifteen_minute_source(start, end, points)
    return window_source(start, end, zone, points)


# the ids of the points a scope's conditions (over e, s, m, p) select
_SCOPED_POINTS = """SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id
        JOIN sites s ON s.id = m.site_id JOIN enterprises e ON e.id = m.enterprise_id
        WHERE {}"""


def all_sites_pue(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    threshold: float = 0.9,
    zone: ZoneInfo | None = None,
) -> dict[int, PueResult]:
    """:func:`site_pue` for every active data-centre site in one query, by site id."""
    source, params = _source(start, end, zone, "SELECT id FROM dc_points")
    rows = conn.execute(
        text(f"""
        WITH dc_points AS (
            SELECT s.id AS site_id, m.role, p.id, p.interval_s
            FROM sites s JOIN meters m ON m.site_id = s.id AND m.active
              AND m.role IN ('facility_total', 'it_load')
            JOIN points p ON p.meter_id = m.id AND p.quantity = 'energy_import_kwh' AND p.active
            WHERE s.kind = 'data_centre' AND s.active),
        sums AS (  -- summed per point first, then one first-reading probe per point
            SELECT c.point_id, sum(c.energy) AS energy, sum(c.readings) AS readings
            FROM {source} c GROUP BY c.point_id)
        SELECT d.site_id, d.role, d.interval_s, f.first,
               coalesce(sums.energy, 0) AS energy, coalesce(sums.readings, 0) AS readings
        FROM dc_points d LEFT JOIN sums ON sums.point_id = d.id
        CROSS JOIN LATERAL (  -- an index probe per point on (point_id, bucket)
            SELECT min(bucket) AS first FROM consumption_15m WHERE point_id = d.id) f"""),
        params,
    ).all()
    by_site: dict[int, list[tuple[Any, ...]]] = {}
    for site_id, role, interval_s, first, energy, readings in rows:
        by_site.setdefault(site_id, []).append((role, interval_s, energy, readings, first))
    return {
        site_id: _pue_of(site_rows, start, end, threshold) for site_id, site_rows in by_site.items()
    }
