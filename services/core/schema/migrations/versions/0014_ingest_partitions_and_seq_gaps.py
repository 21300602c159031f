"""MQTT ingest partitions with leases; gateway sequence gaps as ranges

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Ingest no longer shares one MQTT subscription between replicas (Mosquitto 2.0 does not restore
shared subscriptions from persistence): each partition is a persistent broker session, leased by
one replica at a time. Missing gateway messages are kept as seq ranges (which messages), not a
count, so that they can be requested again and reported; the old counters are dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("gateways", "seq_first")
    op.drop_column("gateways", "seq_received")
    op.add_column(
        "gateways",
        sa.Column(
            "seq_epoch",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="+1 each time the gateway restarts its message counter",
        ),
    )
    op.alter_column(
        "gateways",
        "last_seq",
        existing_type=sa.BigInteger(),
        comment="highest seq of the current epoch",
        existing_nullable=True,
    )
    op.create_table(
        "gateway_seq_gaps",
        sa.Column("gateway_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resend_requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_request_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("first_seq <= last_seq", name=op.f("ck_gateway_seq_gaps_range")),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_gateway_seq_gaps_gateway_id_gateways")
        ),
        sa.PrimaryKeyConstraint(
            "gateway_id", "epoch", "first_seq", name=op.f("pk_gateway_seq_gaps")
        ),
        comment="gateway messages (by seq) that never arrived; a late arrival fills its number",
    )
    op.create_table(
        "ingest_partitions",
        sa.Column("partition", sa.SmallInteger(), nullable=False),
        sa.Column(
            "owner", sa.String(length=128), nullable=True, comment="the ingest replica holding it"
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_ingest_partitions")),
        comment="MQTT ingest partitions (one persistent broker session each) and their leases",
    )
    op.create_table(
        "ingest_members",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), server_default="", nullable=False),
        sa.Column("pid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "partitions",
            sa.Text(),
            server_default="",
            nullable=False,
            comment="partitions held at the last heartbeat (for operators)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_members")),
        sa.UniqueConstraint("replica", name=op.f("uq_ingest_members_replica")),
        comment="MQTT ingest replicas; a stale heartbeat is a replica that died",
    )


def downgrade() -> None:
    op.drop_table("ingest_members")
    op.drop_table("ingest_partitions")
    op.drop_table("gateway_seq_gaps")
    op.drop_column("gateways", "seq_epoch")
    op.add_column(
        "gateways",
        sa.Column("seq_received", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "gateways",
        sa.Column(
            "seq_first", sa.BigInteger(), nullable=True, comment="first seq of the current range"
        ),
    )
