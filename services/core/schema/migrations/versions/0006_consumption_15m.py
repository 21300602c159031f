"""consumption per point and 15 minutes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumption_15m",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column(
            "bucket", sa.DateTime(timezone=True), nullable=False, comment="UTC start of 15 minutes"
        ),
        sa.Column(
            "energy", sa.Double(), nullable=False, comment="point unit, meter multiplier applied"
        ),
        sa.Column("readings", sa.SmallInteger(), nullable=False),
        sa.Column("expected", sa.SmallInteger(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("point_id", "bucket", name=op.f("pk_consumption_15m")),
        comment="consumption of cumulative points per 15 minutes, kept current from rollup_dirty",
    )


def downgrade() -> None:
    op.drop_table("consumption_15m")
