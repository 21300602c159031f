"""TimescaleDB: the rollup tables become compressed hypertables; readings loses its ts-only index

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

Only where readings is already a hypertable (TimescaleDB usable and chosen); plain PostgreSQL is
left as it is. ``consumption_15m`` and ``consumption_1d`` are partitioned by time (chunk
intervals and compression policies follow the settings, applied after the migrations) and
compressed segment by point, ordered by time: the API reads them one point and one window at a
time. The accounting service rewrites their rows with DELETE and INSERT filtered on point and
time, which TimescaleDB 2.11 and later run on compressed chunks, decompressing only the batches
of that point. ``migrate_data`` moves existing rows into chunks: on a large install this takes
a while and holds the tables locked, so plan the upgrade (docs/deploy.md).

``readings_ts_idx`` (ts DESC) was created by ``create_hypertable``; no query needs it (each names
its points, served by the primary key; chunks are chosen by their time constraints). It is
dropped; new installs never create it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.core.schema.storage_plan import DAILY_CHUNK_DAYS
from services.core.schema.timescale import hypertables, migration_may_use

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# table, time column, chunk interval in days (None: the readings setting)
ROLLUPS = (("consumption_15m", "bucket", None), ("consumption_1d", "day", DAILY_CHUNK_DAYS))
COMPRESS = (
    "ALTER TABLE consumption_15m SET (timescaledb.compress, "
    "timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'bucket')",
    "ALTER TABLE consumption_1d SET (timescaledb.compress, "
    "timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'day')",
)


def upgrade() -> None:
    bind = op.get_bind()
    config = op.get_context().config
    attributes = config.attributes if config is not None else {}
    if not migration_may_use(bind, attributes) or "readings" not in hypertables(bind):
        return
    op.execute("DROP INDEX IF EXISTS readings_ts_idx")
    for table, column, days in ROLLUPS:
        bind.execute(
            sa.text(
                "SELECT create_hypertable(CAST(:t AS regclass), CAST(:c AS name), "
                "chunk_time_interval => make_interval(days => :d), "
                "create_default_indexes => false, if_not_exists => true, migrate_data => true)"
            ),
            {"t": table, "c": column, "d": days or int(attributes.get("chunk_interval_days", 7))},
        )
    for statement in COMPRESS:
        op.execute(statement)


def downgrade() -> None:
    """Hypertables stay hypertables (TimescaleDB cannot turn one back into a table in place)."""
