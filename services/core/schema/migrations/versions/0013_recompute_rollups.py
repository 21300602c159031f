"""recompute every point's rollups once

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Before 0013 a late or small batch of readings for a meter reading more often than every 15
minutes rewrote its bucket from only the readings around the new ones, so such buckets can be
short. This marks every point's whole range dirty; the rollup job (``energymon accounting run``,
or the demo) recomputes them from the raw readings, oldest first, in its usual transactions.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO rollup_dirty (point_id, from_ts, to_ts) "
        "SELECT point_id, min(ts), max(ts) FROM readings GROUP BY point_id"
    )


def downgrade() -> None:
    """Nothing to undo: recomputed buckets are correct under either revision."""
