"""registered meter replacements

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meter_replacements",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column(
            "ts", sa.DateTime(timezone=True), nullable=False, comment="when the swap happened"
        ),
        sa.Column(
            "old_final", sa.Double(), nullable=False, comment="the old register's last value"
        ),
        sa.Column(
            "new_first", sa.Double(), nullable=False, comment="the new register's first value"
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["points.id"], name=op.f("fk_meter_replacements_point_id_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_replacements")),
        sa.UniqueConstraint("point_id", "ts", name=op.f("uq_meter_replacements_point_id_ts")),
        comment="registered meter swaps and resets: the counter rules bridge them",
    )


def downgrade() -> None:
    op.drop_table("meter_replacements")
