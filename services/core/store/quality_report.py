"""The data-quality report of an enterprise or the district over a local day or month.

Per point: completeness and estimated share (``point_completeness``, the platform's one
definition), the last reading and whether the meter is silent, counter events, late readings,
conflicting re-sends and the days-against-period check; per enterprise: dead letters by reason
and the meter balance of each day; per site: completeness. The district is ranked worst first:
lowest completeness, then most findings.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.domain.balance import DaysAgainstMonth
from services.core.errors import EnergymonError
from services.core.settings import AlertsSettings, QualitySettings
from services.core.store import quality_facts as facts
from services.core.store.balance import DailyBalance, daily_balances
from services.core.store.completeness import PointCompleteness, point_completeness_by_day
from services.core.store.consistency import days_against_span
from services.core.store.rollups import midnight


@dataclass(frozen=True, slots=True)
class Period:
    """A local day (``2026-11-17``) or month (``2026-11``)."""

    label: str
    first_day: date
    days: int

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            if len(text) == 7:
                first = date.fromisoformat(f"{text}-01")
                return cls(text, first, calendar.monthrange(first.year, first.month)[1])
            return cls(text, date.fromisoformat(text), 1)
        except ValueError as err:
            raise EnergymonError(
                f"{text!r} is neither a day (YYYY-MM-DD) nor a month (YYYY-MM)"
            ) from err

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        return midnight(self.first_day, zone), midnight(
            self.first_day + timedelta(days=self.days), zone
        )


@dataclass(frozen=True, slots=True)
class QualityRules:
    """What the report judges by (QualitySettings, and the alerts' silent-meter rule)."""

    completeness_threshold: float = 0.9
    balance_tolerance: float = 0.05
    late_after: timedelta = timedelta(minutes=15)
    silent_intervals: int = 3

    @classmethod
    def from_settings(
        cls, quality: QualitySettings, alerts: AlertsSettings, *, min_completeness: float
    ) -> QualityRules:
        return cls(
            completeness_threshold=min_completeness,
            balance_tolerance=quality.balance_tolerance,
            late_after=timedelta(seconds=quality.late_after_s),
            silent_intervals=alerts.silent_intervals,
        )


@dataclass(frozen=True, slots=True)
class PointQuality:
    point: facts.PointRow
    completeness: PointCompleteness | None  # None: not a counter (instantaneous points)
    silent: bool
    late: facts.Lateness | None
    conflicts: int
    counter_events: dict[str, int]
    days_check: DaysAgainstMonth | None


@dataclass(frozen=True, slots=True)
class SilentMeter:
    site: str
    meter: str
    since: datetime | None  # its last reading; None: it never reported


@dataclass(frozen=True, slots=True)
class SiteQuality:
    site: str
    completeness: float
    estimated_share: float


@dataclass
class EnterpriseQuality:
    enterprise_id: int
    enterprise: str
    name: str
    town: str
    points: list[PointQuality] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    balances: list[DailyBalance] = field(default_factory=list)
    conflicts: list[facts.Conflict] = field(default_factory=list)

    @property
    def counted(self) -> list[PointCompleteness]:
        return [p.completeness for p in self.points if p.completeness is not None]

    @property
    def completeness(self) -> float:
        return _share(self.counted, estimated=False)

    @property
    def estimated_share(self) -> float:
        return _share(self.counted, estimated=True)

    @property
    def sites(self) -> list[SiteQuality]:
        by_site: dict[str, list[PointCompleteness]] = {}
        for p in self.points:
            if p.completeness is not None:
                by_site.setdefault(p.point.site, []).append(p.completeness)
        return [
            SiteQuality(site, _share(c, estimated=False), _share(c, estimated=True))
            for site, c in sorted(by_site.items())
        ]

    @property
    def silent_meters(self) -> list[SilentMeter]:
        meters: dict[tuple[str, str], list[PointQuality]] = {}
        for p in self.points:
            meters.setdefault((p.point.site, p.point.meter), []).append(p)
        out = []
        for (site, meter), its in sorted(meters.items()):
            if all(p.silent for p in its):
                known = [p.point.last_reading for p in its if p.point.last_reading is not None]
                out.append(SilentMeter(site, meter, max(known) if known else None))
        return out

    @property
    def balance_deviations(self) -> int:
        return sum(1 for b in self.balances if b.balance.flagged)

    @property
    def inconsistent_points(self) -> int:
        return sum(
            1 for p in self.points if p.days_check is not None and not p.days_check.consistent
        )

    @property
    def findings(self) -> int:
        """Things an officer should look at: silent meters, balance deviations (days),
        inconsistent points, conflicting re-sends, late readings, counter events, dead letters."""
        return (
            len(self.silent_meters)
            + self.balance_deviations
            + self.inconsistent_points
            + len(self.conflicts)
            + sum(p.late.late for p in self.points if p.late is not None)
            + sum(n for p in self.points for n in p.counter_events.values())
            + sum(self.dead_letters.values())
        )


@dataclass(frozen=True, slots=True)
class QualityReport:
    period: Period
    start: datetime
    end: datetime
    enterprises: list[EnterpriseQuality]  # worst first
    unattributed_dead_letters: dict[str, int]  # naming no registered enterprise


def _share(items: Sequence[PointCompleteness], *, estimated: bool) -> float:
    expected = sum(c.expected for c in items)
    if not expected:
        return 1.0 if not estimated else 0.0
    got = sum(c.estimated if estimated else c.measured for c in items)
    return min(1.0, got / expected)


def _over_days(
    by_day: Mapping[tuple[int, date], PointCompleteness],
) -> dict[int, PointCompleteness]:
    sums: dict[int, tuple[int, int, int]] = {}
    for (pid, _day), c in by_day.items():
        e, m, s = sums.get(pid, (0, 0, 0))
        sums[pid] = (e + c.expected, m + c.measured, s + c.estimated)
    return {
        pid: PointCompleteness(point_id=pid, expected=e, measured=m, estimated=s)
        for pid, (e, m, s) in sums.items()
    }


def quality_report(
    conn: Connection,
    *,
    period: Period,
    zone: ZoneInfo,
    now: datetime,
    rules: QualityRules,
    enterprise: str | None = None,
) -> QualityReport:
    """The report for ``enterprise`` (or every active enterprise, ranked worst first)."""
    start, end = period.bounds(zone)
    until = min(end, now)
    rows = facts.registry_points(conn, enterprise=enterprise, until=until)
    ids = [r.point_id for r in rows]
    counters = [r.point_id for r in rows if r.cumulative]
    by_day = point_completeness_by_day(
        conn, point_ids=counters, first_day=period.first_day, days=period.days, zone=zone, now=now
    )
    shares = _over_days(by_day)  # intervals partition into days: the period's is their sum
    events = facts.counter_event_counts(conn, point_ids=ids, start=start, end=end)
    late = facts.late_readings(conn, point_ids=ids, start=start, end=end, after=rules.late_after)
    found = facts.conflicts(conn, point_ids=ids, start=start, end=end)
    checks = days_against_span(
        conn, first_day=period.first_day, days=period.days, zone=zone, point_ids=counters
    )
    per_point_conflicts: dict[int, int] = {}
    for c in found:
        per_point_conflicts[c.point_id] = per_point_conflicts.get(c.point_id, 0) + 1

    report: dict[int, EnterpriseQuality] = {}
    for r in rows:
        ent = report.get(r.enterprise_id)
        if ent is None:
            ent = report[r.enterprise_id] = EnterpriseQuality(
                r.enterprise_id, r.enterprise, r.name, r.town
            )
        quiet_for = timedelta(seconds=rules.silent_intervals * r.interval_s)
        ent.points.append(
            PointQuality(
                point=r,
                completeness=shares.get(r.point_id) if r.cumulative else None,
                silent=start < until
                and (r.last_reading is None or r.last_reading < until - quiet_for),
                late=late.get(r.point_id),
                conflicts=per_point_conflicts.get(r.point_id, 0),
                counter_events=events.get(r.point_id, {}),
                days_check=checks.get(r.point_id),
            )
        )
    by_point = {r.point_id: r.enterprise_id for r in rows}
    for c in found:
        report[by_point[c.point_id]].conflicts.append(c)
    for b in daily_balances(
        conn,
        first_day=period.first_day,
        days=period.days,
        zone=zone,
        now=now,
        tolerance=rules.balance_tolerance,
        threshold=rules.completeness_threshold,
        enterprise_ids=list(report),
        completeness=by_day,
    ):
        report[b.pair.enterprise_id].balances.append(b)
    codes = {e.enterprise: e for e in report.values()}
    unattributed: dict[str, int] = {}
    for code, reasons in facts.dead_letter_counts(
        conn, start=start, end=end, enterprise=enterprise
    ).items():
        target = codes[code].dead_letters if code in codes else unattributed
        for reason, n in reasons.items():
            target[reason] = target.get(reason, 0) + n
    ranked = sorted(report.values(), key=lambda e: (e.completeness, -e.findings, e.enterprise))
    return QualityReport(period, start, end, ranked, unattributed if enterprise is None else {})
