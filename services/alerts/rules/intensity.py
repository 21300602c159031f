"""Intensity alerts (能耗双控): a product above the quota value that binds its plant for a month
(critical), and a month's intensity (an enterprise's energy per 10^4 CNY of value added, a
product's unit energy) up on the same month last year beyond ENERGYMON_ALERTS_INTENSITY_YOY_RISE
(warning). A figure resting on insufficient data (completeness
below the threshold, a month without production figures, nothing attributed) is no finding: it
neither opens nor keeps an alert.

Both judge the last complete local month, and keep judging the months of their live alerts, so
that an alert resolves on its own month's corrected figures (a revised output, late meter data),
not because the calendar moved on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.alerts.rules.months import live_months
from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity
from services.core.domain.coefficients import FactorSet
from services.core.domain.intensity import Intensity, IntensityPeriod, Window, YearOnYear
from services.core.domain.quota import QuotaSet, QuotaVerdict
from services.core.store.intensity import EnterpriseIntensity, ProductIntensity, intensities
from services.core.store.reports import last_complete_month

QUOTA_OVER_LIMIT = "quota_over_limit"
INTENSITY_YOY_RISE = "intensity_yoy_rise"


def _figure(i: Intensity) -> dict[str, Any]:
    return {
        "value": i.value,
        "unit": i.unit,
        "energy_tce": round(i.energy.tce, 6),
        "method": i.energy.method,
        "denominator": i.denominator,
        "denominator_unit": i.denominator_unit,
        "completeness": round(i.completeness.share, 4),
        "production": [
            {
                "month": f"{p.month:%Y-%m}",
                "value": p.value,
                "unit": p.unit,
                "revision": p.revision,
                "entered_by": p.entered_by,
            }
            for p in i.production
        ],
    }


def _quota_finding(e: EnterpriseIntensity, p: ProductIntensity, month: date) -> Finding | None:
    if p.quota_entry is None or not p.current.sufficient:
        return None  # no quota, or insufficient data: not a finding either way
    entry = p.quota_entry
    return Finding(
        QUOTA_OVER_LIMIT,
        "product",
        p.id,
        f"{e.code}/{p.code}",
        f"{month:%Y-%m}",
        p.quota.verdict is QuotaVerdict.OVER_LIMIT,
        Severity.CRITICAL,
        f"{e.name} {p.name} {month:%Y-%m}: {p.quota.text}",
        value=p.current.value,
        limit=p.quota.judged_against,
        enterprise_id=e.id,
        evidence={
            "standard": entry.standard,
            "quota_product": entry.product,
            "plant": p.plant,
            "against": p.quota.against.value if p.quota.against else None,
            "source": entry.source(p.quota.against) if p.quota.against else "",
            "verified": entry.verified,
            "figure": _figure(p.current),
        },
    )


def _rise_finding(
    subject: tuple[str, int, str, str],
    yoy: YearOnYear,
    figure: Intensity,
    *,
    enterprise_id: int,
    rise: float,
) -> Finding | None:
    """``subject``: its type, id, label and the name a person reads."""
    kind, subject_id, label, name = subject
    if yoy.change is None:
        return None  # insufficient data this year or last, or not comparable: no finding
    return Finding(
        INTENSITY_YOY_RISE,
        kind,
        subject_id,
        label,
        figure.window.label,
        yoy.change > rise,
        Severity.WARNING,
        f"{name} {figure.window.label}: {yoy.text}",
        value=round(yoy.change, 6),
        limit=rise,
        enterprise_id=enterprise_id,
        evidence={"current": yoy.current, "previous": yoy.previous, "figure": _figure(figure)},
    )


def intensity_findings(
    conn: Connection,
    now: datetime,
    live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    factors: FactorSet,
    quotas: QuotaSet,
    threshold: float,
    rise: float,
) -> list[Finding]:
    """Both rules over the last complete month and the months of their live alerts."""
    last = last_complete_month(now, zone)
    months = sorted(
        {date(last.year, last.month, 1), *live_months(live, QUOTA_OVER_LIMIT, INTENSITY_YOY_RISE)}
    )
    out: list[Finding] = []
    for month in months:
        window = Window(month.year, month.month, IntensityPeriod.MONTH)
        for e in intensities(conn, factors, quotas, window, zone, threshold=threshold, now=now):
            candidates: list[Finding | None] = [
                _rise_finding(
                    ("enterprise", e.id, e.code, e.name),
                    e.yoy,
                    e.current,
                    enterprise_id=e.id,
                    rise=rise,
                ),
            ]
            for p in e.products:
                candidates.append(_quota_finding(e, p, month))
                candidates.append(
                    _rise_finding(
                        ("product", p.id, f"{e.code}/{p.code}", f"{e.name} {p.name}"),
                        p.yoy,
                        p.current,
                        enterprise_id=e.id,
                        rise=rise,
                    )
                )
            out += [f for f in candidates if f is not None]
    return out
