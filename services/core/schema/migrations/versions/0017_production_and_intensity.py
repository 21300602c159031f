"""products and their energy attribution, production and economic figures with history and
month locks, and the monthly rollup

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

Energy intensity (能耗双控) divides a product's comprehensive energy by its output and an
enterprise's energy by its value added: ``products`` and ``product_attribution`` say which meters
make up a product's energy; ``production_entries`` hold the figures enterprises enter (a re-entry
is a revision), ``production_history`` every change and ``production_locks`` the months officers
locked. ``consumption_1mo`` sums the daily rollups per local month. ``enterprises.heating_values``
holds the measured heating values of an enterprise's fuels.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _products() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "unit", sa.String(16), nullable=False, comment="unit its output is entered in, e.g. t"
        ),
        sa.Column("quota_standard", sa.String(32), nullable=True, comment="e.g. GB 16780-2021"),
        sa.Column(
            "quota_product", sa.String(64), nullable=True, comment="its product key in the quotas"
        ),
        sa.Column(
            "plant",
            sa.String(16),
            server_default="existing",
            nullable=False,
            comment="existing (judged against the 限定值) or new (against the 准入值)",
        ),
        sa.Column("electricity_method", sa.String(16), server_default="equivalent", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        *_stamps(),
        sa.CheckConstraint(
            "electricity_method IN ('equivalent', 'equal')",
            name=op.f("ck_products_electricity_method"),
        ),
        sa.CheckConstraint("plant IN ('existing', 'new')", name=op.f("ck_products_plant")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_products_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("enterprise_id", "code", name=op.f("uq_products_enterprise_id_code")),
        comment="an enterprise's products with an energy quota or intensity to report",
    )
    op.create_table(
        "product_attribution",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("share", sa.Double(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(site_id IS NULL) <> (meter_id IS NULL)",
            name=op.f("ck_product_attribution_one_target"),
        ),
        sa.CheckConstraint("share > 0 AND share <= 1", name=op.f("ck_product_attribution_share")),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_product_attribution_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_attribution_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_product_attribution_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_attribution")),
        sa.UniqueConstraint(
            "product_id",
            "site_id",
            "meter_id",
            name=op.f("uq_product_attribution_product_id_site_id_meter_id"),
            postgresql_nulls_not_distinct=True,
        ),
        comment="what makes up a product's comprehensive energy: a site's counted meters or one "
        "meter, with the share of it the product takes (shared utilities)",
    )


def _production() -> None:
    op.create_table(
        "production_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "product_id",
            sa.Integer(),
            nullable=True,
            comment="the product of an output figure; NULL for the enterprise's economic figures",
        ),
        sa.Column(
            "kind", sa.String(16), nullable=False, comment="output, value_added or gross_output"
        ),
        sa.Column("period", sa.String(8), nullable=False, comment="month or day"),
        sa.Column(
            "period_start", sa.Date(), nullable=False, comment="local date: the day or the 1st"
        ),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False, comment="the product's unit, or 10^4 CNY"),
        sa.Column(
            "price_base_year",
            sa.SmallInteger(),
            nullable=True,
            comment="value added and gross output: at comparable prices of this year",
        ),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.Column("entered_by", sa.Text(), nullable=False),
        sa.Column(
            "entered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('output', 'value_added', 'gross_output')",
            name=op.f("ck_production_entries_kind"),
        ),
        sa.CheckConstraint("period IN ('month', 'day')", name=op.f("ck_production_entries_period")),
        sa.CheckConstraint(
            "(kind = 'output') = (product_id IS NOT NULL)",
            name=op.f("ck_production_entries_product_of_output"),
        ),
        sa.CheckConstraint("value > 0", name=op.f("ck_production_entries_value_positive")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_production_entries_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_production_entries_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_entries")),
        sa.UniqueConstraint(
            "enterprise_id",
            "product_id",
            "kind",
            "period",
            "period_start",
            name=op.f("uq_production_entries_enterprise_id_product_id_kind_period_period_start"),
            postgresql_nulls_not_distinct=True,
        ),
        comment="production and economic figures as last entered; a re-entry is a revision",
    )
    op.create_table(
        "production_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "action", sa.String(16), nullable=False, comment="created, revised, locked, unlocked"
        ),
        sa.Column(
            "month", sa.Date(), nullable=False, comment="the local month the change concerns"
        ),
        sa.Column("old_value", sa.Double(), nullable=True),
        sa.Column("new_value", sa.Double(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('created', 'revised', 'locked', 'unlocked')",
            name=op.f("ck_production_history_action"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_production_history_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["production_entries.id"],
            name=op.f("fk_production_history_entry_id_production_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_history")),
        comment="every change to production figures and month locks: who, when, old -> new, why",
    )
    op.create_index(
        "ix_production_history_enterprise_month",
        "production_history",
        ["enterprise_id", "month"],
        unique=False,
    )
    op.create_table(
        "production_locks",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "month", sa.Date(), nullable=False, comment="first local day of the locked month"
        ),
        sa.Column("locked_by", sa.Text(), nullable=False),
        sa.Column(
            "locked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_production_locks_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "month", name=op.f("pk_production_locks")),
        comment="months an officer reviewed and locked: their figures take no more changes",
    )


def _monthly_rollup() -> None:
    op.create_table(
        "consumption_1mo",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column(
            "month", sa.Date(), nullable=False, comment="first local day, in rollup_meta.days_zone"
        ),
        sa.Column("energy", sa.Double(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("measured_periods", sa.Integer(), nullable=False),
        sa.Column("estimated_periods", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("point_id", "month", name=op.f("pk_consumption_1mo")),
        comment="consumption_1d summed per local month, refreshed in the same transaction",
    )
    # what the daily rollups already hold (the accounting service keeps it current from here)
    op.execute(
        sa.text(
            "INSERT INTO consumption_1mo SELECT point_id, date_trunc('month', day)::date, "
            "sum(energy), sum(readings), sum(expected), bool_or(estimated), "
            "sum(measured_periods), sum(estimated_periods) FROM consumption_1d "
            "GROUP BY point_id, date_trunc('month', day)::date"
        )
    )


def upgrade() -> None:
    op.add_column(
        "enterprises",
        sa.Column(
            "heating_values",
            postgresql.JSONB(),
            nullable=True,
            comment="measured low calorific values of its fuels (GB/T 2589-2020), as the registry "
            "lists them",
        ),
    )
    _products()
    _production()
    _monthly_rollup()


def downgrade() -> None:
    op.drop_table("consumption_1mo")
    op.drop_table("production_locks")
    op.drop_index("ix_production_history_enterprise_month", table_name="production_history")
    op.drop_table("production_history")
    op.drop_table("production_entries")
    op.drop_table("product_attribution")
    op.drop_table("products")
    op.drop_column("enterprises", "heating_values")
