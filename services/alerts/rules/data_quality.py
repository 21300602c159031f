"""Data-quality alerts on the data-quality report's definitions (docs/quality.md):

- ``enterprise_low_completeness``: an enterprise's completeness yesterday (local day: measured ÷
  expected 15-minute intervals over all its counters, ``point_completeness``) below the threshold
  (90 %, the online-monitoring completeness rule);
- ``meter_balance_deviation``: a parent meter's whole day against the sum of its sub-meters off by
  more than the tolerance (5 %), on enough data to judge;
- ``pue_meter_silent``: a data centre's facility or IT meter silent while the other side of its
  PUE goes on reporting — the PUE is unknown, not high; the alert names the silent meter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity
from services.core.domain.roles import MeterRole
from services.core.store.balance import daily_balances
from services.core.store.completeness import point_completeness
from services.core.store.quality_facts import PointRow, registry_points

ENTERPRISE_LOW_COMPLETENESS = "enterprise_low_completeness"
METER_BALANCE_DEVIATION = "meter_balance_deviation"
PUE_METER_SILENT = "pue_meter_silent"


def _yesterday(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1), today


def completeness_findings(
    conn: Connection,
    now: datetime,
    _live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    threshold: float,
) -> list[Finding]:
    start, end = _yesterday(now, zone)
    rows = [r for r in registry_points(conn, enterprise=None, until=now) if r.cumulative]
    shares = point_completeness(
        conn, point_ids=[r.point_id for r in rows], start=start, end=end, zone=zone, now=now
    )
    by_enterprise: dict[int, list[PointRow]] = {}
    for r in rows:
        by_enterprise.setdefault(r.enterprise_id, []).append(r)
    out = []
    for enterprise_id, its in sorted(by_enterprise.items()):
        counted = [shares[r.point_id] for r in its if r.point_id in shares]
        expected = sum(c.expected for c in counted)
        if not expected:
            continue  # nothing commissioned yet: no data expected
        share = sum(c.measured for c in counted) / expected
        if share >= threshold:
            continue
        worst = sorted(its, key=lambda r: shares[r.point_id].share if r.point_id in shares else 1)
        out.append(
            Finding(
                rule=ENTERPRISE_LOW_COMPLETENESS,
                subject_type="enterprise",
                subject_id=enterprise_id,
                subject=its[0].enterprise,
                window=start.date().isoformat(),
                active=True,
                severity=Severity.WARNING,
                title=f"enterprise {its[0].enterprise}: {share:.1%} of yesterday's 15-minute "
                f"intervals hold data (< {threshold:.0%})",
                value=round(share, 4),
                limit=threshold,
                enterprise_id=enterprise_id,
                evidence={
                    "day": start.date().isoformat(),
                    "measured_intervals": sum(c.measured for c in counted),
                    "expected_intervals": expected,
                    "estimated_intervals": sum(c.estimated for c in counted),
                    "worst_points": [
                        f"{r.meter}/{r.quantity} {shares[r.point_id].share:.1%}"
                        for r in worst[:5]
                        if r.point_id in shares and shares[r.point_id].share < threshold
                    ],
                },
            )
        )
    return out


def balance_findings(
    conn: Connection,
    now: datetime,
    _live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    tolerance: float,
    threshold: float,
) -> list[Finding]:
    start, _end = _yesterday(now, zone)
    out = []
    for b in daily_balances(
        conn,
        first_day=start.date(),
        days=1,
        zone=zone,
        now=now,
        tolerance=tolerance,
        threshold=threshold,
    ):
        if not b.balance.flagged:
            continue
        p = b.pair
        dev = b.balance.deviation
        shown = f"{dev:+.1%}" if dev is not None else "the parent counted nothing"
        out.append(
            Finding(
                rule=METER_BALANCE_DEVIATION,
                subject_type="meter",
                subject_id=p.meter_id,
                subject=f"{p.enterprise}/{p.meter}",
                window=b.day.isoformat(),
                active=True,
                severity=Severity.WARNING,
                title=f"meter {p.meter} of {p.enterprise} against its sub-meters "
                f"{', '.join(p.sub_meters)} on {b.day.isoformat()}: {shown} "
                f"(tolerance {tolerance:.0%})",
                value=round(dev, 4) if dev is not None else None,
                limit=tolerance,
                enterprise_id=p.enterprise_id,
                evidence={
                    "day": b.day.isoformat(),
                    "quantity": p.quantity,
                    "parent": round(b.balance.parent, 3),
                    "sub_meters": list(p.sub_meters),
                    "sub_meters_total": round(b.balance.children, 3),
                    "unit": p.unit,
                    "completeness": round(b.completeness, 4),
                },
            )
        )
    return out


def _silent(points: Sequence[PointRow], now: datetime, intervals: int) -> bool:
    """Every counter of the meter without a reading for ``intervals`` expected intervals."""
    return all(
        p.last_reading is None or now - p.last_reading > timedelta(seconds=intervals * p.interval_s)
        for p in points
    )


def pue_silent_findings(
    conn: Connection,
    now: datetime,
    _live: dict[AlertKey, LiveAlert],
    *,
    intervals: int,
) -> list[Finding]:
    sides = {MeterRole.FACILITY_TOTAL.value: "facility", MeterRole.IT_LOAD.value: "IT"}
    meters: dict[tuple[str, str], dict[int, list[PointRow]]] = {}
    for r in registry_points(conn, enterprise=None, until=now):
        if r.role in sides and r.cumulative:
            meters.setdefault((r.enterprise, r.site), {}).setdefault(r.meter_id, []).append(r)
    out = []
    for (enterprise, site), by_meter in sorted(meters.items()):
        silent = {mid: _silent(pts, now, intervals) for mid, pts in by_meter.items()}
        for mid, pts in sorted(by_meter.items()):
            role = pts[0].role
            going_on = [
                other[0].meter
                for oid, other in by_meter.items()
                if other[0].role != role and not silent[oid]
            ]
            if not silent[mid] or not going_on:
                continue  # reporting, or both sides silent: the silent-meter alerts say it
            last = max((p.last_reading for p in pts if p.last_reading), default=None)
            since = last.isoformat() if last else "never"
            out.append(
                Finding(
                    rule=PUE_METER_SILENT,
                    subject_type="meter",
                    subject_id=mid,
                    subject=f"{enterprise}/{pts[0].meter}",
                    window="",
                    active=True,
                    severity=Severity.WARNING,
                    title=f"{sides[role]} meter {pts[0].meter} of {enterprise}/{site} silent "
                    f"(last reading {since}) while {', '.join(sorted(going_on))} reports: the "
                    "PUE is unknown, not high",
                    enterprise_id=pts[0].enterprise_id,
                    evidence={
                        "site": site,
                        "side": sides[role],
                        "last_reading_at": last.isoformat() if last else None,
                        "other_side_reporting": sorted(going_on),
                        "intervals_allowed": intervals,
                    },
                )
            )
    return out
