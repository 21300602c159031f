"""PUE over the limit, per data-centre site and window, with hysteresis; and insufficient data
as its own alert type (never a PUE breach).

Windows: a rolling 24 h operational warning, month-to-date, and year-to-date (the compliance view,
critical). The limit is the site's explicit ``pue_limit`` or its class's (new large and super-large
1.25, existing 1.5). Opening needs PUE > limit; a live alert clears only below limit - margin.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity
from services.core.domain.pue import (
    PueVerdict,
    Window,
    pue_verdict,
    pue_verdict_text,
    window_bounds,
)
from services.core.store import sites
from services.core.store.pue import all_sites_pue, site_pue

PUE_OVER_LIMIT = "pue_over_limit"
PUE_INSUFFICIENT_DATA = "pue_insufficient_data"
WINDOWS = (Window.ROLLING_24H, Window.MONTH_TO_DATE, Window.YEAR_TO_DATE)


def pue_findings(
    conn: Connection,
    now: datetime,
    live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    margin: float,
    coverage: float = 0.9,
) -> list[Finding]:
    centres = sites.data_centres(conn)
    by_window = {}
    for window in WINDOWS:
        start, end = window_bounds(window, now, zone)
        by_window[window] = (
            start,
            end,
            all_sites_pue(conn, start=start, end=end, threshold=coverage, zone=zone, now=now),
        )
    out = []
    for dc in centres:
        limit = dc.limit
        if limit is None:
            continue
        subject = f"{dc.enterprise}/{dc.site}"
        for window in WINDOWS:
            start, end, results = by_window[window]
            r = results.get(dc.site_id) or site_pue(
                conn,
                enterprise=dc.enterprise,
                site=dc.site,
                start=start,
                end=end,
                threshold=coverage,
                zone=zone,
                now=now,
            )
            evidence = {
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "facility_kwh": round(r.facility_kwh, 3),
                "it_kwh": round(r.it_kwh, 3),
                "facility_coverage": round(r.facility_coverage, 4),
                "it_coverage": round(r.it_coverage, 4),
                "facility_estimated": round(r.facility_estimated, 4),
                "it_estimated": round(r.it_estimated, 4),
                "limit": limit,
                "dc_class": dc.dc_class,
            }
            key = (PUE_OVER_LIMIT, "site", dc.site_id, window.value)
            verdict = pue_verdict(r, limit, hysteresis=margin if key in live else 0.0)
            if verdict is PueVerdict.INSUFFICIENT_DATA:
                out.append(
                    Finding(
                        rule=PUE_INSUFFICIENT_DATA,
                        subject_type="site",
                        subject_id=dc.site_id,
                        subject=subject,
                        window=window.value,
                        active=True,
                        severity=Severity.WARNING,
                        title=f"PUE of {subject} ({window.value}) not computable: "
                        f"{pue_verdict_text(r, limit)}",
                        value=min(r.facility_coverage, r.it_coverage),
                        limit=coverage,
                        enterprise_id=dc.enterprise_id,
                        evidence=evidence,
                    )
                )
                continue
            if r.ratio is None:
                continue
            severity = Severity.CRITICAL if window == Window.YEAR_TO_DATE else Severity.WARNING
            out.append(
                Finding(
                    rule=PUE_OVER_LIMIT,
                    subject_type="site",
                    subject_id=dc.site_id,
                    subject=subject,
                    window=window.value,
                    active=verdict is PueVerdict.OVER,
                    severity=severity,
                    title=f"PUE {r.ratio:.3f} of {subject} above its limit {limit} "
                    f"({window.value})",
                    value=round(r.ratio, 4),
                    limit=limit,
                    enterprise_id=dc.enterprise_id,
                    evidence=evidence,
                )
            )
    return out
