"""The ingest path's own state: missing gateway messages, MQTT partitions and their replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select

from services.core.schema.tables import (
    enterprises,
    gateway_seq_gaps,
    gateways,
    ingest_members,
    ingest_partitions,
)


@dataclass(frozen=True, slots=True)
class SeqGapRow:
    gateway_id: int
    gateway: str
    enterprise_id: int
    enterprise: str
    epoch: int
    first_seq: int
    last_seq: int
    missing_since: datetime
    resend_requests: int

    @property
    def size(self) -> int:
        return self.last_seq - self.first_seq + 1


@dataclass(frozen=True, slots=True)
class PartitionLease:
    partition: int
    owner: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class IngestMember:
    member_id: int
    replica: str
    host: str
    pid: int
    heartbeat_at: datetime
    partitions: str


def seq_gaps_open_since(conn: Connection, *, before: datetime) -> list[SeqGapRow]:
    """Gaps of active gateways (every epoch) missing since ``before`` or earlier, by gateway and
    number."""
    stmt = (
        select(
            gateways.c.id,
            gateways.c.code,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
            gateway_seq_gaps.c.epoch,
            gateway_seq_gaps.c.first_seq,
            gateway_seq_gaps.c.last_seq,
            gateway_seq_gaps.c.opened_at,
            gateway_seq_gaps.c.resend_requests,
        )
        .join(gateways, gateways.c.id == gateway_seq_gaps.c.gateway_id)
        .join(enterprises, enterprises.c.id == gateways.c.enterprise_id)
        .where(gateways.c.active, enterprises.c.active, gateway_seq_gaps.c.opened_at <= before)
        .order_by(gateways.c.id, gateway_seq_gaps.c.epoch, gateway_seq_gaps.c.first_seq)
    )
    return [
        SeqGapRow(
            gateway_id=r.id,
            gateway=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            epoch=r.epoch,
            first_seq=r.first_seq,
            last_seq=r.last_seq,
            missing_since=r.opened_at,
            resend_requests=r.resend_requests,
        )
        for r in conn.execute(stmt)
    ]


def unowned_partitions(conn: Connection, *, expired_before: datetime) -> list[PartitionLease]:
    """Partitions nobody holds, or whose lease expired at or before ``expired_before``."""
    stmt = (
        select(
            ingest_partitions.c.partition, ingest_partitions.c.owner, ingest_partitions.c.expires_at
        )
        .where(
            or_(
                ingest_partitions.c.owner.is_(None),
                ingest_partitions.c.expires_at <= expired_before,
            )
        )
        .order_by(ingest_partitions.c.partition)
    )
    return [
        PartitionLease(partition=int(r.partition), owner=r.owner, expires_at=r.expires_at)
        for r in conn.execute(stmt)
    ]


def stale_members(conn: Connection, *, heartbeat_before: datetime) -> list[IngestMember]:
    """Replicas whose last heartbeat is at or before ``heartbeat_before`` (they left without
    saying so: a clean stop deletes the row)."""
    stmt = (
        select(ingest_members)
        .where(ingest_members.c.heartbeat_at <= heartbeat_before)
        .order_by(ingest_members.c.id)
    )
    return [
        IngestMember(
            member_id=r.id,
            replica=r.replica,
            host=r.host,
            pid=r.pid,
            heartbeat_at=r.heartbeat_at,
            partitions=r.partitions,
        )
        for r in conn.execute(stmt)
    ]
