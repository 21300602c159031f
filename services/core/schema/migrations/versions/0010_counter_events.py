"""counter anomalies found by the rollups; points.max_rate for spike detection

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "points",
        sa.Column(
            "max_rate",
            sa.Double(),
            nullable=True,
            comment="largest plausible use per hour (primary side); faster rises are spikes",
        ),
    )
    op.create_table(
        "counter_events",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column(
            "ts",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="end of the interval / the read",
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column(
            "energy",
            sa.Double(),
            nullable=True,
            comment="what the interval counted (0 if excluded)",
        ),
        sa.Column(
            "detected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("point_id", "ts", "kind", name=op.f("pk_counter_events")),
        comment="counter anomalies the rollups found: rollover, reset, spike_excluded, "
        "drop_unexplained, bad_read (a one-off read that was ignored)",
    )
    op.create_index(
        op.f("ix_counter_events_detected"), "counter_events", ["detected_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_counter_events_detected"), table_name="counter_events")
    op.drop_table("counter_events")
    op.drop_column("points", "max_rate")
