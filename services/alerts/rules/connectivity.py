"""Rules for silence and connectivity: meters without data, gateways offline, Modbus devices
offline. Each returns findings for the subjects whose condition holds; a live alert without a
finding counts as clear (services/alerts/lifecycle.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from services.core.alerting.lifecycle import Finding, Severity

SILENT_METER = "silent_meter"
GATEWAY_OFFLINE = "gateway_offline"
MODBUS_DEVICE_OFFLINE = "modbus_device_offline"

# Per active meter: its newest reading (an index probe per point on the (point_id, ts) key) and
# its shortest expected interval. A meter that never sent counts from its registration.
_SILENT = """
SELECT m.id, m.code, e.id AS enterprise_id, e.code AS enterprise, m.created_at,
       min(p.interval_s) AS interval_s,
       max((SELECT max(r.ts) FROM readings r WHERE r.point_id = p.id)) AS last_ts
FROM meters m
JOIN enterprises e ON e.id = m.enterprise_id
JOIN points p ON p.meter_id = m.id AND p.active
WHERE m.active AND e.active
GROUP BY m.id, m.code, e.id, e.code, m.created_at
"""


def silent_meters(conn: Connection, now: datetime, intervals: int) -> list[Finding]:
    out = []
    for r in conn.execute(text(_SILENT)):
        last = r.last_ts or r.created_at
        allowed = timedelta(seconds=r.interval_s * intervals)
        silent_for = now - last
        if silent_for <= allowed:
            continue
        out.append(
            Finding(
                SILENT_METER,
                "meter",
                r.id,
                f"{r.enterprise}/{r.code}",
                "",
                True,
                Severity.WARNING,
                f"meter {r.code} of {r.enterprise} silent for {_human(silent_for)}",
                value=silent_for.total_seconds(),
                limit=allowed.total_seconds(),
                enterprise_id=r.enterprise_id,
                evidence={
                    "last_reading_at": r.last_ts.isoformat() if r.last_ts else None,
                    "expected_interval_s": r.interval_s,
                    "intervals_allowed": intervals,
                },
            )
        )
    return out


def gateways_offline(conn: Connection, now: datetime) -> list[Finding]:
    rows = conn.execute(
        text("""
        SELECT g.id, g.code, e.id AS enterprise_id, e.code AS enterprise, g.status_at,
               g.last_seen_at
        FROM gateways g JOIN enterprises e ON e.id = g.enterprise_id
        WHERE g.active AND e.active AND g.status = 'offline'""")
    )
    return [
        Finding(
            GATEWAY_OFFLINE,
            "gateway",
            r.id,
            f"{r.enterprise}/{r.code}",
            "",
            True,
            Severity.WARNING,
            f"gateway {r.code} of {r.enterprise} is offline",
            value=(now - r.status_at).total_seconds() if r.status_at else None,
            enterprise_id=r.enterprise_id,
            evidence={
                "offline_since": r.status_at.isoformat() if r.status_at else None,
                "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None,
            },
        )
        for r in rows
    ]


def modbus_devices_offline(conn: Connection, now: datetime) -> list[Finding]:
    rows = conn.execute(
        text("""
        SELECT m.id, m.code, e.id AS enterprise_id, e.code AS enterprise, s.since, s.last_error,
               s.consecutive_failures, s.last_success_at
        FROM device_status s JOIN meters m ON m.id = s.meter_id
        JOIN enterprises e ON e.id = m.enterprise_id
        WHERE s.state = 'offline' AND m.active AND e.active""")
    )
    return [
        Finding(
            MODBUS_DEVICE_OFFLINE,
            "meter",
            r.id,
            f"{r.enterprise}/{r.code}",
            "",
            True,
            Severity.WARNING,
            f"Modbus meter {r.code} of {r.enterprise} is offline",
            value=float(r.consecutive_failures),
            enterprise_id=r.enterprise_id,
            evidence={
                "since": r.since.isoformat(),
                "last_error": r.last_error,
                "last_success_at": r.last_success_at.isoformat() if r.last_success_at else None,
            },
        )
        for r in rows
    ]


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
