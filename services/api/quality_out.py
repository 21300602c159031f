"""The data-quality report as the API answers it (figures rounded to their unit's precision:
shares to 0.0001, energy to 0.001) and as tables for CSV and XLSX."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.api.models.quality import (
    QualityBalanceOut,
    QualityConflictOut,
    QualityDistrictOut,
    QualityDistrictRowOut,
    QualityEnterpriseOut,
    QualityPointOut,
    QualitySilentOut,
    QualitySiteOut,
)
from services.api.report_files import Table
from services.core.schema.tables import SOURCE_CODES
from services.core.store.quality_report import EnterpriseQuality, QualityReport, QualityRules

_SOURCES = {code: name for name, code in SOURCE_CODES.items()}


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _energy(value: float) -> float:
    return round(value, 3)


def enterprise_out(
    e: EnterpriseQuality, report: QualityReport, zone: ZoneInfo
) -> QualityEnterpriseOut:
    where = {p.point.point_id: p.point for p in e.points}
    points = []
    for p in e.points:
        c = p.completeness
        points.append(
            QualityPointOut(
                site=p.point.site,
                meter=p.point.meter,
                role=p.point.role,
                quantity=p.point.quantity,
                unit=p.point.unit,
                expected_intervals=c.expected if c else None,
                measured_intervals=c.measured if c else None,
                estimated_intervals=c.estimated if c else None,
                completeness=_share(c.share) if c else None,
                estimated_share=_share(c.estimated_share) if c else None,
                last_reading=p.point.last_reading.astimezone(zone)
                if p.point.last_reading
                else None,
                silent=p.silent,
                late_readings=p.late.late if p.late else 0,
                worst_delay_s=round(p.late.worst_s, 3) if p.late else None,
                conflicts=p.conflicts,
                counter_events=p.counter_events,
                days_consistent=p.days_check.consistent if p.days_check else None,
                days_difference=_energy(p.days_check.difference) if p.days_check else None,
            )
        )
    return QualityEnterpriseOut(
        enterprise=e.enterprise,
        name=e.name,
        town=e.town,
        period=report.period.label,
        start=report.start.astimezone(zone),
        end=report.end.astimezone(zone),
        completeness=round(e.completeness, 4),
        estimated_share=round(e.estimated_share, 4),
        findings=e.findings,
        sites=[
            QualitySiteOut(
                site=s.site,
                completeness=round(s.completeness, 4),
                estimated_share=round(s.estimated_share, 4),
            )
            for s in e.sites
        ],
        points=points,
        silent_meters=[
            QualitySilentOut(
                site=s.site, meter=s.meter, since=s.since.astimezone(zone) if s.since else None
            )
            for s in e.silent_meters
        ],
        dead_letters=dict(sorted(e.dead_letters.items())),
        balances=[
            QualityBalanceOut(
                day=b.day.isoformat(),
                site=b.pair.site,
                meter=b.pair.meter,
                quantity=b.pair.quantity,
                unit=b.pair.unit,
                sub_meters=list(b.pair.sub_meters),
                parent=_energy(b.balance.parent),
                sub_meters_total=_energy(b.balance.children),
                deviation=_share(b.balance.deviation),
                verdict=b.balance.verdict.value,
                completeness=round(b.completeness, 4),
            )
            for b in e.balances
        ],
        conflicts=[
            QualityConflictOut(
                site=where[c.point_id].site,
                meter=where[c.point_id].meter,
                quantity=where[c.point_id].quantity,
                ts=c.ts.astimezone(zone),
                first_value=c.first_value,
                new_value=c.new_value,
                source=_SOURCES.get(c.source, str(c.source)),
                received_at=c.received_at.astimezone(zone),
                first_received_at=c.first_received_at.astimezone(zone),
            )
            for c in e.conflicts
        ],
    )


def district_out(report: QualityReport, rules: QualityRules, zone: ZoneInfo) -> QualityDistrictOut:
    return QualityDistrictOut(
        period=report.period.label,
        start=report.start.astimezone(zone),
        end=report.end.astimezone(zone),
        completeness_threshold=rules.completeness_threshold,
        balance_tolerance=rules.balance_tolerance,
        enterprises=[
            QualityDistrictRowOut(
                rank=rank,
                enterprise=e.enterprise,
                name=e.name,
                town=e.town,
                completeness=round(e.completeness, 4),
                estimated_share=round(e.estimated_share, 4),
                findings=e.findings,
                silent_meters=len(e.silent_meters),
                balance_deviations=e.balance_deviations,
                inconsistent_points=e.inconsistent_points,
                conflicts=len(e.conflicts),
                late_readings=sum(p.late.late for p in e.points if p.late),
                counter_events=sum(n for p in e.points for n in p.counter_events.values()),
                dead_letters=sum(e.dead_letters.values()),
            )
            for rank, e in enumerate(report.enterprises, 1)
        ],
        unattributed_dead_letters=dict(sorted(report.unattributed_dead_letters.items())),
    )


def _rows(
    items: Sequence[object], fields: Sequence[str], lead: Sequence[object] = ()
) -> list[list[object]]:
    return [[*lead, *(_cell(getattr(i, f)) for f in fields)] for i in items]


def _cell(value: object) -> object:
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


_POINT = list(QualityPointOut.model_fields)
_BALANCE = list(QualityBalanceOut.model_fields)
_CONFLICT = list(QualityConflictOut.model_fields)
_SUMMARY = ["enterprise", "name", "town", "period", "start", "end", "completeness",
            "estimated_share", "findings"]  # fmt: skip


def enterprise_tables(out: QualityEnterpriseOut) -> list[Table]:
    """Summary, Sites, Points, Silent meters, Dead letters, Balance, Conflicts."""
    return [
        Table("Summary", ["item", "value"], [[k, getattr(out, k)] for k in _SUMMARY]),
        Table(
            "Sites",
            list(QualitySiteOut.model_fields),
            _rows(out.sites, list(QualitySiteOut.model_fields)),
        ),
        Table("Points", _POINT, _rows(out.points, _POINT)),
        Table(
            "Silent meters",
            ["site", "meter", "since"],
            _rows(out.silent_meters, ["site", "meter", "since"]),
        ),
        Table("Dead letters", ["reason", "count"], [[k, v] for k, v in out.dead_letters.items()]),
        Table("Balance", _BALANCE, _rows(out.balances, _BALANCE)),
        Table("Conflicts", _CONFLICT, _rows(out.conflicts, _CONFLICT)),
    ]


def district_tables(
    out: QualityDistrictOut, enterprises: Sequence[QualityEnterpriseOut]
) -> list[Table]:
    """The ranking, then every enterprise's points, balances and conflicts (led by its code),
    and the dead letters naming no registered enterprise."""
    ranking = list(QualityDistrictRowOut.model_fields)
    return [
        Table("Enterprises", ranking, _rows(out.enterprises, ranking)),
        Table("Points", ["enterprise", *_POINT],
              [r for e in enterprises for r in _rows(e.points, _POINT, [e.enterprise])]),
        Table("Balance", ["enterprise", *_BALANCE],
              [r for e in enterprises for r in _rows(e.balances, _BALANCE, [e.enterprise])]),
        Table("Conflicts", ["enterprise", *_CONFLICT],
              [r for e in enterprises for r in _rows(e.conflicts, _CONFLICT, [e.enterprise])]),
        Table("Unattributed dead letters", ["reason", "count"],
              [[k, v] for k, v in out.unattributed_dead_letters.items()]),
    ]  # fmt: skip
