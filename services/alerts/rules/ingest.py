"""Rules on the ingest path itself: gateway messages that never arrived, MQTT partitions nobody
consumes, ingest replicas that died. Each returns findings for the subjects whose condition holds;
a live alert without a finding counts as clear."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import Connection

from services.core.alerting.lifecycle import Finding, Severity
from services.core.store import ingest_health
from services.core.store.ingest_health import SeqGapRow

SEQUENCE_GAP = "sequence_gap"
INGEST_PARTITION_UNOWNED = "ingest_partition_unowned"
INGEST_REPLICA_LOST = "ingest_replica_lost"

_EVIDENCE_RANGES = 20


def sequence_gaps(conn: Connection, now: datetime, window: timedelta) -> list[Finding]:
    """A gateway whose messages (by ``seq``) have been missing longer than ``window`` (every
    epoch: a gap left behind by a counter restart is a loss until it expires)."""
    rows = ingest_health.seq_gaps_open_since(conn, before=now - window)
    return [_gap_finding(list(gaps)) for _gid, gaps in groupby(rows, key=lambda r: r.gateway_id)]


def _gap_finding(gaps: list[SeqGapRow]) -> Finding:
    first = gaps[0]
    missing = sum(g.size for g in gaps)
    ranges = [_range(g.first_seq, g.last_seq) for g in gaps]
    shown = ", ".join(ranges[:3]) + (f" and {len(ranges) - 3} more" if len(ranges) > 3 else "")
    return Finding(
        rule=SEQUENCE_GAP,
        subject_type="gateway",
        subject_id=first.gateway_id,
        subject=f"{first.enterprise}/{first.gateway}",
        window="",
        active=True,
        severity=Severity.WARNING,
        title=f"gateway {first.gateway} of {first.enterprise}: {missing} messages missing "
        f"(seq {shown})",
        value=float(missing),
        enterprise_id=first.enterprise_id,
        evidence={
            "missing_messages": missing,
            "ranges": [
                {
                    "epoch": g.epoch,
                    "from_seq": g.first_seq,
                    "to_seq": g.last_seq,
                    "missing_since": g.missing_since.isoformat(),
                    "resend_requests": g.resend_requests,
                }
                for g in gaps[:_EVIDENCE_RANGES]
            ],
            "ranges_total": len(gaps),
        },
    )


def unowned_partitions(conn: Connection, now: datetime, grace: timedelta) -> list[Finding]:
    """An MQTT partition no ingest replica has held for ``grace``: its gateways' readings queue
    at the broker and are not stored (up to the broker's queue bound)."""
    return [
        Finding(
            rule=INGEST_PARTITION_UNOWNED,
            subject_type="ingest_partition",
            subject_id=p.partition,
            subject=f"partition {p.partition}",
            window="",
            active=True,
            severity=Severity.CRITICAL,
            title=f"MQTT ingest partition {p.partition} has no running replica: its readings "
            "are held at the broker, not stored",
            value=(now - p.expires_at).total_seconds() if p.expires_at is not None else None,
            evidence={
                "last_owner": p.owner,
                "lease_expired_at": p.expires_at.isoformat() if p.expires_at else None,
            },
        )
        for p in ingest_health.unowned_partitions(conn, expired_before=now - grace)
    ]


def lost_replicas(conn: Connection, now: datetime, stale: timedelta) -> list[Finding]:
    """An ingest replica that stopped heartbeating without leaving (it died or hangs); its
    partitions are taken over by the others, or show as unowned."""
    return [
        Finding(
            rule=INGEST_REPLICA_LOST,
            subject_type="ingest_replica",
            subject_id=m.member_id,
            subject=m.replica,
            window="",
            active=True,
            severity=Severity.WARNING,
            title=f"ingest replica {m.replica} stopped without leaving "
            f"(last heartbeat {m.heartbeat_at.isoformat(timespec='seconds')})",
            value=(now - m.heartbeat_at).total_seconds(),
            evidence={
                "host": m.host,
                "pid": m.pid,
                "last_heartbeat_at": m.heartbeat_at.isoformat(),
                "partitions_held": m.partitions,
            },
        )
        for m in ingest_health.stale_members(conn, heartbeat_before=now - stale)
    ]


def _range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"
