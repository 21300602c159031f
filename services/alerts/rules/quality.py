"""Data quality: a meter whose completeness yesterday (local day) was below the monitoring
system's 90 % rule. Completeness = readings present / readings expected over the day, across the
meter's cumulative points; a meter that sent nothing at all is the silent-meter rule's case.
And counter anomalies the rollups found (``counter_events``): resets, rollovers, excluded spikes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity

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
    rows = conn.execute(
        text("""
        SELECT m.id, m.code, e.id AS ent_id, e.code AS ent,
               sum(c.readings)::float AS present,
               (count(DISTINCT p.id) * 96 * max(900 / p.interval_s))::float AS expected
        FROM meters m JOIN enterprises e ON e.id = m.enterprise_id
        JOIN points p ON p.meter_id = m.id AND p.active AND p.kind = 'cumulative'
        JOIN consumption_15m c ON c.point_id = p.id AND c.bucket >= :start AND c.bucket < :end
        WHERE m.active AND e.active AND m.created_at < :start
        GROUP BY m.id, m.code, e.id, e.code"""),
        {"start": start, "end": end},
    ).all()
    out = []
    for r in rows:
        share = min(1.0, r.present / r.expected) if r.expected else 0.0
        if share >= threshold:
            continue
        out.append(
            Finding(
                LOW_COMPLETENESS,
                "meter",
                r.id,
                f"{r.ent}/{r.code}",
                start.date().isoformat(),
                True,
                Severity.WARNING,
                f"meter {r.code} of {r.ent}: {share:.0%} of yesterday's readings arrived "
                f"(< {threshold:.0%})",
                value=round(share, 4),
                limit=threshold,
                enterprise_id=r.ent_id,
                evidence={
                    "day": start.date().isoformat(),
                    "readings": r.present,
                    "expected": r.expected,
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
    rows = conn.execute(
        text("""
        SELECT m.id, m.code, e.id AS ent_id, e.code AS ent, ce.kind, count(*) AS events,
               (array_agg(p.quantity || ' ' || to_char(ce.ts AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS"Z"') ORDER BY ce.ts DESC))[1:10] AS latest
        FROM counter_events ce JOIN points p ON p.id = ce.point_id
        JOIN meters m ON m.id = p.meter_id JOIN enterprises e ON e.id = m.enterprise_id
        WHERE ce.detected_at > :since AND ce.kind = ANY(:kinds) AND m.active AND e.active
        GROUP BY m.id, m.code, e.id, e.code, ce.kind"""),
        {"since": now - lookback, "kinds": list(_EVENT_RULES)},
    ).all()
    merged: dict[tuple[str, int], _MeterEvents] = {}
    for r in rows:
        rule, severity, what = _EVENT_RULES[r.kind]
        item = merged.setdefault(
            (rule, r.id), _MeterEvents(f"{r.ent}/{r.code}", r.code, r.ent, r.ent_id, severity, what)
        )
        item.events += int(r.events)
        item.latest.extend(r.latest)
    return [
        Finding(
            rule,
            "meter",
            meter_id,
            m.subject,
            "24h",
            True,
            m.severity,
            f"meter {m.meter} of {m.enterprise}: {m.what} ({m.events} in 24 h)",
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
