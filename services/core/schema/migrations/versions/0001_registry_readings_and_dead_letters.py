"""registry, readings and dead letters

Revision ID: 0001
Revises:
Create Date: 2026-11-24 12:48:02.045965
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("enterprise_code", sa.Text(), nullable=True),
        sa.Column("gateway_code", sa.Text(), nullable=True),
        sa.Column(
            "reading_index",
            sa.Integer(),
            nullable=True,
            comment="index in the message; NULL = whole",
        ),
        sa.Column("reason", sa.String(length=48), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            sa.LargeBinary(),
            nullable=False,
            comment="raw bytes (truncated when oversized)",
        ),
        sa.Column("payload_size", sa.Integer(), nullable=False),
        sa.Column(
            "fingerprint",
            sa.LargeBinary(),
            nullable=False,
            comment="sha256 of source/topic/payload/index: a re-delivery adds no row",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_dead_letters_fingerprint")),
    )
    op.create_index(
        "ix_dead_letters_reason", "dead_letters", ["reason", "received_at"], unique=False
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"], unique=False)
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "code", sa.String(length=18), nullable=False, comment="unified social credit code"
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("industry", sa.String(length=8), nullable=False, comment="GB/T 4754 code"),
        sa.Column("town", sa.Text(), nullable=False),
        sa.Column("grid_region", sa.String(length=32), server_default="national", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("code", name=op.f("uq_enterprises_code")),
    )
    op.create_table(
        "readings",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "source",
            sa.SmallInteger(),
            nullable=False,
            comment="1 mqtt, 2 modbus, 3 http, 4 import",
        ),
        sa.PrimaryKeyConstraint("point_id", "ts", name=op.f("pk_readings")),
    )
    op.create_table(
        "gateways",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=True,
            comment="last MQTT status: online / offline",
        ),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column(
            "seq_first", sa.BigInteger(), nullable=True, comment="first seq of the current range"
        ),
        sa.Column("seq_received", sa.BigInteger(), server_default="0", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_gateways_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
        sa.UniqueConstraint("enterprise_id", "code", name=op.f("uq_gateways_enterprise_id_code")),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dc_class", sa.String(length=32), nullable=True),
        sa.Column(
            "pue_limit",
            sa.Numeric(precision=6, scale=3),
            nullable=True,
            comment="explicit limit; else from dc_class",
        ),
        sa.Column(
            "pue_category",
            sa.String(length=8),
            nullable=True,
            comment="The Green Grid PUE1/PUE2/PUE3",
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
        sa.CheckConstraint(
            "dc_class IS NULL OR dc_class IN ('new_large', 'new_super_large', 'existing')",
            name=op.f("ck_sites_dc_class"),
        ),
        sa.CheckConstraint(
            "kind IN ('industrial', 'data_centre', 'public_building')", name=op.f("ck_sites_kind")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_sites_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("enterprise_id", "code", name=op.f("uq_sites_enterprise_id_code")),
    )
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("gateway_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column(
            "multiplier", sa.Numeric(precision=18, scale=6), server_default="1", nullable=False
        ),
        sa.Column("role", sa.String(length=32), server_default="boundary", nullable=False),
        sa.Column(
            "connection",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="protocol settings, e.g. Modbus host/unit",
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
        sa.CheckConstraint(
            "protocol IN ('mqtt', 'modbus', 'http')", name=op.f("ck_meters_protocol")
        ),
        sa.CheckConstraint(
            "role IN ('boundary', 'sub', 'facility_total', 'it_load')", name=op.f("ck_meters_role")
        ),
        sa.CheckConstraint("multiplier > 0", name=op.f("ck_meters_multiplier_positive")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_meters_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_meters_gateway_id_gateways")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_meters_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
        sa.UniqueConstraint("enterprise_id", "code", name=op.f("uq_meters_enterprise_id_code")),
    )
    op.create_table(
        "points",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "min_value",
            sa.Double(),
            nullable=True,
            comment="narrower plausible range than the default",
        ),
        sa.Column("max_value", sa.Double(), nullable=True),
        sa.Column("register_max", sa.Double(), nullable=True, comment="counter rollover value"),
        sa.Column(
            "interval_s",
            sa.Integer(),
            server_default="900",
            nullable=False,
            comment="expected reading interval, for completeness",
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
        sa.CheckConstraint("kind IN ('cumulative', 'instantaneous')", name=op.f("ck_points_kind")),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_points_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points")),
        sa.UniqueConstraint("meter_id", "quantity", name=op.f("uq_points_meter_id_quantity")),
    )

    _make_hypertable()


def downgrade() -> None:
    op.drop_table("points")
    op.drop_table("meters")
    op.drop_table("sites")
    op.drop_table("gateways")
    op.drop_table("readings")
    op.drop_table("enterprises")
    op.drop_index("ix_dead_letters_received_at", table_name="dead_letters")
    op.drop_index("ix_dead_letters_reason", table_name="dead_letters")
    op.drop_table("dead_letters")


def _make_hypertable() -> None:
    """Turn readings into a TimescaleDB hypertable when allowed and usable.

    Plain PostgreSQL keeps an ordinary table; every query the platform runs is valid on both.
    No index on ts alone: every query on readings names its points, which the (point_id, ts)
    primary key serves, and chunks are found by their time constraints, not by an index.
    """
    from services.core.schema.timescale import migration_may_use

    config = op.get_context().config
    attributes = config.attributes if config is not None else {}
    chunk_days = int(attributes.get("chunk_interval_days", 7))
    if not migration_may_use(op.get_bind(), attributes):
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    op.get_bind().execute(
        sa.text(
            "SELECT create_hypertable('readings', 'ts', "
            "chunk_time_interval => make_interval(days => :d), create_default_indexes => false, "
            "if_not_exists => true, migrate_data => true)"
        ),
        {"d": chunk_days},
    )
    op.execute(
        "ALTER TABLE readings SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'ts')"
    )
