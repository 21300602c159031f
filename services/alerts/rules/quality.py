"""Data quality: a meter whose completeness yesterday (local day) was below the monitoring
system's 90 % rule. Completeness = readings present / readings expected over the day, across the
meter's cumulative points; a meter that sent nothing at all is the silent-meter rule's case."""

from __future__ import annotations

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
