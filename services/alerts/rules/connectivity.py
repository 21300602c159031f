"""Rules for silence and connectivity: meters without data, gateways offline, polled (Modbus, DL/T
645) meters offline. Each returns findings for the subjects whose condition holds; a live alert
without a finding counts as clear (services/core/alerting/lifecycle.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from services.core.alerting.lifecycle import Finding, Severity
from services.core.store import connectivity

SILENT_METER = "silent_meter"
GATEWAY_OFFLINE = "gateway_offline"
# the rule's id predates DL/T 645 and is kept (API filters and stored alerts use it): it covers
# every meter the poller reads, and its titles name the meter's protocol
MODBUS_DEVICE_OFFLINE = "modbus_device_offline"
PROTOCOL_NAMES = {"modbus": "Modbus", "dlt645": "DL/T 645"}


def silent_meters(conn: Connection, now: datetime, intervals: int) -> list[Finding]:
    """A meter without a reading for ``intervals`` of its shortest expected interval; a meter
    that never sent counts from its registration."""
    out = []
    for m in connectivity.last_readings(conn):
        last = m.last_reading_at or m.registered_at
        allowed = timedelta(seconds=m.interval_s * intervals)
        silent_for = now - last
        if silent_for <= allowed:
            continue
        out.append(
            Finding(
                rule=SILENT_METER,
                subject_type="meter",
                subject_id=m.meter_id,
                subject=f"{m.enterprise}/{m.meter}",
                window="",
                active=True,
                severity=Severity.WARNING,
                title=f"meter {m.meter} of {m.enterprise} silent for {_human(silent_for)}",
                value=silent_for.total_seconds(),
                limit=allowed.total_seconds(),
                enterprise_id=m.enterprise_id,
                evidence={
                    "last_reading_at": _iso(m.last_reading_at),
                    "expected_interval_s": m.interval_s,
                    "intervals_allowed": intervals,
                },
            )
        )
    return out


def gateways_offline(conn: Connection, now: datetime) -> list[Finding]:
    return [
        Finding(
            rule=GATEWAY_OFFLINE,
            subject_type="gateway",
            subject_id=g.gateway_id,
            subject=f"{g.enterprise}/{g.gateway}",
            window="",
            active=True,
            severity=Severity.WARNING,
            title=f"gateway {g.gateway} of {g.enterprise} is offline",
            value=(now - g.offline_since).total_seconds() if g.offline_since else None,
            enterprise_id=g.enterprise_id,
            evidence={
                "offline_since": _iso(g.offline_since),
                "last_seen_at": _iso(g.last_seen_at),
            },
        )
        for g in connectivity.offline_gateways(conn)
    ]


def modbus_devices_offline(conn: Connection, _now: datetime) -> list[Finding]:
    return [
        Finding(
            rule=MODBUS_DEVICE_OFFLINE,
            subject_type="meter",
            subject_id=d.meter_id,
            subject=f"{d.enterprise}/{d.meter}",
            window="",
            active=True,
            severity=Severity.WARNING,
            title=f"{PROTOCOL_NAMES.get(d.protocol, d.protocol)} meter {d.meter} of "
            f"{d.enterprise} is offline",
            value=float(d.consecutive_failures),
            enterprise_id=d.enterprise_id,
            evidence={
                "since": d.since.isoformat(),
                "protocol": d.protocol,
                "last_error": d.last_error,
                "last_success_at": _iso(d.last_success_at),
            },
        )
        for d in connectivity.offline_devices(conn)
    ]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
