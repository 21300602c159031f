"""energy points integrated from a power point (meters without an energy counter)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "points",
        sa.Column(
            "source_point_id",
            sa.Integer(),
            nullable=True,
            comment="for an energy point integrated from power: the power point it is computed "
            "from (it takes no readings of its own)",
        ),
    )
    op.create_foreign_key(
        op.f("fk_points_source_point_id_points"), "points", "points", ["source_point_id"], ["id"]
    )
    op.create_index(op.f("ix_points_source_point_id"), "points", ["source_point_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_points_source_point_id"), table_name="points")
    op.drop_constraint(op.f("fk_points_source_point_id_points"), "points", type_="foreignkey")
    op.drop_column("points", "source_point_id")
