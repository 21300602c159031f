"""Monthly energy reports: one enterprise, and the district summary.

A report is plain data built from the same functions as every other figure (consumption,
totals, site PUE, budget status), so a report, the API and the alerts never disagree. Rendering
(JSON, CSV, XLSX) is the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from services.core.domain.budget import budget_verdict
from services.core.domain.coefficients import ElectricityMethod, FactorSet
from services.core.domain.completeness import DEFAULT_THRESHOLD
from services.core.domain.pue import PueVerdict, pue_verdict, pue_verdict_text
from services.core.domain.quantities import COUNTED_QUANTITIES
from services.core.domain.roles import COUNTED_ROLES
from services.core.schema.tables import enterprises, meters, points
from services.core.store import budgets, sites
from services.core.store.completeness import PointCompleteness, combined, point_completeness
from services.core.store.factors import enterprise_factors
from services.core.store.pue import all_sites_pue
from services.core.store.rollups import window_source


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text_: str) -> Month:
        """``YYYY-MM``."""
        parsed = datetime.strptime(text_, "%Y-%m")  # noqa: DTZ007 - a calendar month, no instant
        return cls(parsed.year, parsed.month)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime(self.year, self.month, 1, tzinfo=zone)
        nxt = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return start, datetime(*nxt, 1, tzinfo=zone)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class CarrierLine:
    carrier: str
    unit: str
    amount: float
    completeness: float
    estimated: bool
    tce: float | None
    tco2: float | None
    coal_source: str | None
    co2_source: str | None
    estimated_share: float = 0.0  # gap-filled periods / expected periods


@dataclass(frozen=True, slots=True)
class BudgetLine:
    site: str | None
    period: str
    carrier: str | None
    unit: str
    budget: float
    used: float
    share_used: float
    projected: float | None
    state: str
    coverage: float | None = None
    data_sufficient: bool = True
    verdict: str = ""


@dataclass(frozen=True, slots=True)
class DataCentreLine:
    site: str
    dc_class: str | None
    limit: float | None
    pue: float | None
    status: str
    facility_kwh: float
    it_kwh: float
    coverage: float
    over_limit: bool | None
    verdict: str = ""
    verdict_text: str = ""
    facility_coverage: float = 0.0
    it_coverage: float = 0.0


@dataclass
class EnterpriseReport:
    code: str
    name: str
    town: str
    industry: str
    grid_region: str
    month: str
    start: datetime
    end: datetime
    method: str
    carriers: list[CarrierLine] = field(default_factory=list)
    budgets: list[BudgetLine] = field(default_factory=list)
    data_centres: list[DataCentreLine] = field(default_factory=list)
    completeness: float | None = None  # measured / expected periods, every counted point
    estimated_share: float | None = None  # gap-filled / expected periods

    @property
    def total_tce(self) -> float:
        return sum(c.tce or 0.0 for c in self.carriers)

    @property
    def total_tco2(self) -> float:
        return sum(c.tco2 or 0.0 for c in self.carriers)


@dataclass
class _Line:
    region: str
    amount: float = 0.0
    estimated: bool = False
    parts: list[PointCompleteness] = field(default_factory=list)


_JUDGED = (PueVerdict.OVER, PueVerdict.WITHIN)


def _point_rows(
    conn: Connection, start: datetime, end: datetime, zone: ZoneInfo, codes: list[str] | None
) -> Sequence[Any]:
    """Every active counted point of an active enterprise (of ``codes``): its amount over the
    window and whether any of it was estimated."""
    of_codes = [enterprises.c.code.in_(codes)] if codes is not None else []
    counted = points.c.quantity.in_(COUNTED_QUANTITIES)
    wanted = (
        select(points.c.id)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(counted, *of_codes)
        .correlate(None)
    )
    c = window_source(start, end, zone, wanted)
    stmt = (
        select(
            points.c.id,
            enterprises.c.code,
            enterprises.c.grid_region,
            meters.c.carrier,
            meters.c.role,
            points.c.unit,
            func.coalesce(func.sum(c.c.energy), 0).label("energy"),
            func.coalesce(func.bool_or(c.c.estimated), False).label("estimated"),
        )
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .outerjoin(c, c.c.point_id == points.c.id)
        .where(enterprises.c.active, meters.c.active, points.c.active, counted, *of_codes)
        .group_by(
            enterprises.c.code,
            enterprises.c.grid_region,
            meters.c.carrier,
            meters.c.role,
            points.c.id,
            points.c.unit,
        )
        .order_by(enterprises.c.code, meters.c.carrier, points.c.unit)
    )
    return conn.execute(stmt).all()


def enterprise_reports(
    conn: Connection,
    factors: FactorSet,
    month: Month,
    zone: ZoneInfo,
    *,
    codes: list[str] | None = None,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
    thresholds: tuple[float, ...] = (0.8, 0.9),
    min_completeness: float = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> list[EnterpriseReport]:
    """The month's report of each active enterprise (or of ``codes``), in code order, as of
    ``now`` (default: the clock)."""
    start, end = month.bounds(zone)
    query = (
        select(
            enterprises.c.id,
            enterprises.c.code,
            enterprises.c.name,
            enterprises.c.town,
            enterprises.c.industry,
            enterprises.c.grid_region,
        )
        .where(enterprises.c.active)
        .order_by(enterprises.c.code)
    )
    if codes is not None:
        query = query.where(enterprises.c.code.in_(codes))
    found = conn.execute(query).all()
    reports = {
        r.code: EnterpriseReport(
            r.code, r.name, r.town, r.industry, r.grid_region, str(month), start, end, method.value
        )
        for r in found
    }
    ids = {r.code: int(r.id) for r in found}
    own = enterprise_factors(conn, factors, ids.values())  # with measured heating values
    as_of = min(end, now or datetime.now(UTC))
    on = start.date()
    lines: dict[tuple[str, str, str], _Line] = {}
    owed: dict[str, list[PointCompleteness]] = {}  # enterprise -> every counted point's
    rows = [r for r in _point_rows(conn, start, end, zone, codes) if r.code in reports]
    shares = point_completeness(
        conn, point_ids=[r.id for r in rows], start=start, end=end, zone=zone, now=as_of
    )
    for row in rows:
        share = shares[row.id]
        owed.setdefault(row.code, []).append(share)
        if row.role not in COUNTED_ROLES:
            continue  # sub-meters and IT load are inside a boundary meter's amount
        line = lines.setdefault((row.code, row.carrier, row.unit), _Line(row.grid_region))
        line.amount += float(row.energy)
        line.parts.append(share)
        line.estimated |= bool(row.estimated)
    for (code, carrier, unit), line in lines.items():
        kgce = tco2 = None
        if carrier != "water":
            region = line.region if carrier == "electricity" else "national"
            mine = own[ids[code]]
            kgce = mine.kgce(carrier, line.amount, unit, on, method)
            tco2 = mine.try_tco2(carrier, line.amount, unit, on, region or "national")
        together = combined(line.parts)
        reports[code].carriers.append(
            CarrierLine(
                carrier,
                unit,
                line.amount,
                together.share,
                line.estimated,
                kgce.value / 1000 if kgce else None,
                tco2.value if tco2 else None,
                kgce.factor.source if kgce else None,
                tco2.factor.source if tco2 else None,
                together.estimated_share,
            )
        )
    for code, parts in owed.items():
        together = combined(parts)
        reports[code].completeness = together.share
        reports[code].estimated_share = together.estimated_share
    # as of the month's last instant, so that the year and the month are the report's own (the
    # first instant of January would be the next year's budgets)
    last_instant = min(end - timedelta(microseconds=1), as_of)
    for b, s in budgets.statuses(
        conn,
        factors,
        now=last_instant,
        zone=zone,
        thresholds=thresholds,
        min_completeness=min_completeness,
    ):
        if b.enterprise in reports:
            projections = [p for p in (s.projected_run_rate, s.projected_last_year) if p]
            reports[b.enterprise].budgets.append(
                BudgetLine(
                    b.site or None,
                    b.period,
                    b.carrier or None,
                    b.unit,
                    b.amount,
                    s.used,
                    s.share,
                    max(projections) if projections else None,
                    s.state.value,
                    s.coverage,
                    s.data_sufficient,
                    budget_verdict(s).value,
                )
            )
    pues = all_sites_pue(
        conn, start=start, end=end, zone=zone, threshold=min_completeness, now=as_of
    )
    for dc in sorted(sites.data_centres(conn), key=lambda d: (d.enterprise, d.site)):
        if dc.enterprise not in reports:
            continue
        r = pues.get(dc.site_id)
        limit = dc.limit
        verdict = pue_verdict(r, limit) if r is not None else PueVerdict.INSUFFICIENT_DATA
        reports[dc.enterprise].data_centres.append(
            DataCentreLine(
                dc.site,
                dc.dc_class,
                limit,
                r.ratio if r else None,
                r.status.value if r else "insufficient_data",
                r.facility_kwh if r else 0.0,
                r.it_kwh if r else 0.0,
                min(r.facility_coverage, r.it_coverage) if r else 0.0,
                verdict is PueVerdict.OVER if verdict in _JUDGED else None,
                verdict.value,
                pue_verdict_text(r, limit) if r else "insufficient data (no readings)",
                r.facility_coverage if r else 0.0,
                r.it_coverage if r else 0.0,
            )
        )
    return list(reports.values())


def last_complete_month(now: datetime, zone: ZoneInfo) -> Month:
    local = now.astimezone(zone).date()
    first = date(local.year, local.month, 1)
    return Month(first.year - 1, 12) if first.month == 1 else Month(first.year, first.month - 1)
