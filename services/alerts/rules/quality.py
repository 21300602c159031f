"""Data quality: a meter whose completeness yesterday (local day) was below the threshold
(``ENERGYMON_MIN_COMPLETENESS``). Completeness = the measured share of the collection periods its
cumulative points owed over the day (services/core/store/completeness.py, the one definition);
a meter that sent nothing at all is the silent-meter rule's case.
And counter anomalies the rollups found (``counter_events``): resets, rollovers, excluded spikes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity
from services.core.store import quality

LOW_COMPLETENESS = "low_completeness"


def completeness_findings(
    conn: Connection,
    now: datetime,
    _live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    threshold: float = 0.9,
) -> list[Finding]:
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=1), today
    out = []
    for m in quality.meter_completeness(conn, start=start, end=end, zone=zone, now=now):
        share = m.share
        if not m.expected or not (m.measured or m.estimated) or share >= threshold:
            continue  # owed nothing, or sent nothing at all (the silent-meter rule's case)
        out.append(
            Finding(
                rule=LOW_COMPLETENESS,
                subject_type="meter",
                subject_id=m.meter_id,
                subject=f"{m.enterprise}/{m.meter}",
                window=start.date().isoformat(),
                active=True,
                severity=Severity.WARNING,
                title=f"meter {m.meter} of {m.enterprise}: {share:.0%} of yesterday's collection "
                f"periods hold measured data (< {threshold:.0%})",
                value=round(share, 4),
                limit=threshold,
                enterprise_id=m.enterprise_id,
                evidence={
                    "day": start.date().isoformat(),
                    "measured_periods": m.measured,
                    "estimated_periods": m.estimated,
                    "expected_periods": m.expected,
                },
            )
        )
    return out


COUNTER_RESET = "counter_reset"
COUNTER_ROLLOVER = "counter_rollover"
SPIKE_EXCLUDED = "spike_excluded"
# counter_events kinds -> (rule, severity, what the officer reads)
_EVENT_RULES = {
    "reset": (COUNTER_RESET, Severity.WARNING, "counter reset (a drop to near zero)"),
    "drop_unexplained": (COUNTER_RESET, Severity.WARNING, "counter dropped and did not recover"),
    "rollover": (COUNTER_ROLLOVER, Severity.INFO, "counter rolled over its register maximum"),
    "spike_excluded": (SPIKE_EXCLUDED, Severity.WARNING, "implausible jump excluded"),
}


def counter_findings(
    conn: Connection,
    now: datetime,
    _live: dict[AlertKey, LiveAlert],
    *,
    lookback: timedelta = timedelta(hours=24),
) -> list[Finding]:
    """A meter whose counters the rollups found reset, rolled over or spiking in the last
    ``lookback`` (by when it was found, so a week-late reading that reveals a reset alerts too).
    The alert clears, after the hold time, once no new event has been found for ``lookback``."""
    merged: dict[tuple[str, int], _MeterEvents] = {}
    for r in quality.counter_events_since(conn, since=now - lookback, kinds=list(_EVENT_RULES)):
        rule, severity, what = _EVENT_RULES[r.kind]
        item = merged.setdefault(
            (rule, r.meter_id),
            _MeterEvents(
                f"{r.enterprise}/{r.meter}", r.meter, r.enterprise, r.enterprise_id, severity, what
            ),
        )
        item.events += r.events
        item.latest.extend(r.latest)
    return [
        Finding(
            rule=rule,
            subject_type="meter",
            subject_id=meter_id,
            subject=m.subject,
            window="24h",
            active=True,
            severity=m.severity,
            title=f"meter {m.meter} of {m.enterprise}: {m.what} ({m.events} in 24 h)",
            value=m.events,
            enterprise_id=m.enterprise_id,
            evidence={"events": m.events, "latest": sorted(m.latest)[-10:]},
        )
        for (rule, meter_id), m in sorted(merged.items())
    ]


@dataclass
class _MeterEvents:
    subject: str
    meter: str
    enterprise: str
    enterprise_id: int
    severity: Severity
    what: str
    events: int = 0
    latest: list[str] = field(default_factory=list)
