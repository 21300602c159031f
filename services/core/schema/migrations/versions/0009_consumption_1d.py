"""daily consumption rollups (consumption_1d) and rollup_meta

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumption_1d",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column(
            "day", sa.Date(), nullable=False, comment="local calendar day in rollup_meta.days_zone"
        ),
        sa.Column("energy", sa.Double(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("point_id", "day", name=op.f("pk_consumption_1d")),
        comment="consumption_15m summed per local day, refreshed in the same transaction",
    )
    op.create_table(
        "rollup_meta",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rollup_meta")),
        comment="facts about the rollups, e.g. the zone consumption_1d was built in",
    )
    # Build the days from the existing 15-minute rollups in the configured zone.
    zone = os.environ.get("ENERGYMON_TIMEZONE", "Asia/Shanghai")
    op.execute(
        sa.text("INSERT INTO rollup_meta (key, value) VALUES ('days_zone', :zone)").bindparams(
            zone=zone
        )
    )
    op.execute(
        sa.text("""
        INSERT INTO consumption_1d (point_id, day, energy, readings, expected, estimated)
        SELECT point_id, (bucket AT TIME ZONE :zone)::date, sum(energy), sum(readings),
               sum(expected), bool_or(estimated)
        FROM consumption_15m GROUP BY 1, 2""").bindparams(zone=zone)
    )


def downgrade() -> None:
    op.drop_table("rollup_meta")
    op.drop_table("consumption_1d")
