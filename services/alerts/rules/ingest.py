"""Rules on the ingest path itself: gateway messages that never arrived, MQTT partitions nobody
consumes, ingest replicas that died. Each returns findings for the subjects whose condition holds;
a live alert without a finding counts as clear."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, text

from services.core.alerting.lifecycle import Finding, Severity

SEQUENCE_GAP = "sequence_gap"
INGEST_PARTITION_UNOWNED = "ingest_partition_unowned"
INGEST_REPLICA_LOST = "ingest_replica_lost"

_EVIDENCE_RANGES = 20

# Gaps open longer than the window, per gateway (every epoch: a gap left behind by a counter
# restart still is a loss until it expires).
_GAPS = """
SELECT w.id, w.code, e.id AS enterprise_id, e.code AS enterprise,
       s.epoch, s.first_seq, s.last_seq, s.opened_at, s.resend_requests, s.last_request_at
FROM gateway_seq_gaps s
JOIN gateways w ON w.id = s.gateway_id
JOIN enterprises e ON e.id = w.enterprise_id
WHERE w.active AND e.active AND s.opened_at <= :before
ORDER BY w.id, s.epoch, s.first_seq
"""
_UNOWNED = """
SELECT partition, owner, expires_at FROM ingest_partitions
WHERE owner IS NULL OR expires_at <= :before
ORDER BY partition
"""
_LOST = """
SELECT id, replica, host, pid, heartbeat_at, partitions FROM ingest_members
WHERE heartbeat_at <= :before
ORDER BY id
"""


def sequence_gaps(conn: Connection, now: datetime, window: timedelta) -> list[Finding]:
    """A gateway whose messages (by ``seq``) have been missing longer than ``window``."""
    by_gateway: dict[int, list[Row[Any]]] = {}
    for row in conn.execute(text(_GAPS), {"before": now - window}):
        by_gateway.setdefault(row.id, []).append(row)
    out = []
    for rows in by_gateway.values():
        first = rows[0]
        missing = sum(r.last_seq - r.first_seq + 1 for r in rows)
        ranges = [_range(r.first_seq, r.last_seq) for r in rows]
        shown = ", ".join(ranges[:3]) + (f" and {len(ranges) - 3} more" if len(ranges) > 3 else "")
        out.append(
            Finding(
                rule=SEQUENCE_GAP,
                subject_type="gateway",
                subject_id=first.id,
                subject=f"{first.enterprise}/{first.code}",
                window="",
                active=True,
                severity=Severity.WARNING,
                title=f"gateway {first.code} of {first.enterprise}: "
                f"{missing} messages missing (seq {shown})",
                value=float(missing),
                enterprise_id=first.enterprise_id,
                evidence={
                    "missing_messages": missing,
                    "ranges": [
                        {
                            "epoch": r.epoch,
                            "from_seq": r.first_seq,
                            "to_seq": r.last_seq,
                            "missing_since": r.opened_at.isoformat(),
                            "resend_requests": r.resend_requests,
                        }
                        for r in rows[:_EVIDENCE_RANGES]
                    ],
                    "ranges_total": len(rows),
                },
            )
        )
    return out


def unowned_partitions(conn: Connection, now: datetime, grace: timedelta) -> list[Finding]:
    """An MQTT partition no ingest replica has held for ``grace``: its gateways' readings queue
    at the broker and are not stored (up to the broker's queue bound)."""
    out = []
    for row in conn.execute(text(_UNOWNED), {"before": now - grace}):
        since = row.expires_at
        out.append(
            Finding(
                rule=INGEST_PARTITION_UNOWNED,
                subject_type="ingest_partition",
                subject_id=int(row.partition),
                subject=f"partition {row.partition}",
                window="",
                active=True,
                severity=Severity.CRITICAL,
                title=f"MQTT ingest partition {row.partition} has no running replica: its "
                "readings are held at the broker, not stored",
                value=(now - since).total_seconds() if since is not None else None,
                evidence={
                    "last_owner": row.owner,
                    "lease_expired_at": since.isoformat() if since is not None else None,
                },
            )
        )
    return out


def lost_replicas(conn: Connection, now: datetime, stale: timedelta) -> list[Finding]:
    """An ingest replica that stopped heartbeating without leaving (it died or hangs); its
    partitions are taken over by the others, or show as unowned."""
    return [
        Finding(
            rule=INGEST_REPLICA_LOST,
            subject_type="ingest_replica",
            subject_id=int(row.id),
            subject=row.replica,
            window="",
            active=True,
            severity=Severity.WARNING,
            title=f"ingest replica {row.replica} stopped without leaving "
            f"(last heartbeat {row.heartbeat_at.isoformat(timespec='seconds')})",
            value=(now - row.heartbeat_at).total_seconds(),
            evidence={
                "host": row.host,
                "pid": row.pid,
                "last_heartbeat_at": row.heartbeat_at.isoformat(),
                "partitions_held": row.partitions,
            },
        )
        for row in conn.execute(text(_LOST), {"before": now - stale})
    ]


def _range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"
