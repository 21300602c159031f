"""energy budgets per enterprise (or site), year and carrier

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "site_code",
            sa.String(length=64),
            server_default="",
            nullable=False,
            comment="'' for the whole enterprise",
        ),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column(
            "carrier",
            sa.String(length=32),
            server_default="",
            nullable=False,
            comment="'' = comprehensive energy in tce; else a carrier in its unit",
        ),
        sa.Column("amount", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column(
            "monthly",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="optional split: {'1': amount, ...}",
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_budgets_amount_positive")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_budgets_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint(
            "enterprise_id",
            "site_code",
            "year",
            "carrier",
            name=op.f("uq_budgets_enterprise_id_site_code_year_carrier"),
        ),
    )


def downgrade() -> None:
    op.drop_table("budgets")
