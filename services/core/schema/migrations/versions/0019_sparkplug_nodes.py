"""sparkplug_nodes: the Sparkplug host's view of the edge nodes the registry binds

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

The host (``energymon ingest sparkplug``) keeps each node's session in memory; it writes it here
every few seconds so that the API can show it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sparkplug_nodes",
        sa.Column("group_id", sa.Text(), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("host_id", sa.Text(), nullable=False, comment="the Sparkplug host that saw it"),
        sa.Column("state", sa.String(16), nullable=False, comment="online / offline / unborn"),
        sa.Column(
            "bd_seq", sa.Integer(), nullable=True, comment="bdSeq of the current or last session"
        ),
        sa.Column(
            "births", sa.Integer(), nullable=False, comment="NBIRTHs seen since the host started"
        ),
        sa.Column("devices", postgresql.JSONB(), nullable=False, comment="device ids online"),
        sa.Column(
            "rebirth_requests",
            postgresql.JSONB(),
            nullable=False,
            comment="cause -> requests since start",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("group_id", "node_id"),
        comment="Sparkplug edge nodes bound in the registry, as the host last saw them",
    )


def downgrade() -> None:
    op.drop_table("sparkplug_nodes")
