"""conflicting re-sends of a reading kept for audit; meters.sub_of for the meter balance

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02

A reading re-sent for the same point and time with another value used to be dropped as a
duplicate without a trace: the first value stays, and the re-send is now recorded in
``reading_conflicts``. ``meters.sub_of`` declares a meter's parent for the meter-balance check.

(Revises 0014 on this branch; it follows 0015 once both are merged.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reading_conflicts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_value", sa.Double(), nullable=False, comment="the stored value (kept)"),
        sa.Column("new_value", sa.Double(), nullable=False, comment="the re-sent value (dropped)"),
        sa.Column("source", sa.SmallInteger(), nullable=False, comment="of the re-send"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "gateway_id",
            sa.Integer(),
            nullable=True,
            comment="the meter's gateway when the re-send arrived",
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_conflicts")),
        sa.UniqueConstraint(
            "point_id",
            "ts",
            "new_value",
            name=op.f("uq_reading_conflicts_point_id_ts_new_value"),
        ),
        comment="a reading re-sent with another value than the stored one; the first is kept",
    )
    op.create_index(
        op.f("ix_reading_conflicts_received_at"),
        "reading_conflicts",
        ["received_at"],
        unique=False,
    )
    op.add_column(
        "meters",
        sa.Column(
            "sub_of",
            sa.Integer(),
            nullable=True,
            comment="the meter this one is a sub-meter of (meter balance)",
        ),
    )
    op.create_foreign_key(op.f("fk_meters_sub_of_meters"), "meters", "meters", ["sub_of"], ["id"])


def downgrade() -> None:
    op.drop_constraint(op.f("fk_meters_sub_of_meters"), "meters", type_="foreignkey")
    op.drop_column("meters", "sub_of")
    op.drop_index(op.f("ix_reading_conflicts_received_at"), table_name="reading_conflicts")
    op.drop_table("reading_conflicts")
