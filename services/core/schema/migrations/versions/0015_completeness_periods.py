"""completeness by collection period: meters' service dates, periods counted per day

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Completeness was readings present / readings expected at the declared interval, so a meter
reporting more often than declared reached 100 % with days missing. It is now the share of the
point's expected collection periods (15 minutes, or its own longer period) that hold measured
data (docs/accounting.md). Meters get optional ``commissioned`` / ``decommissioned`` dates;
``consumption_1d`` gets each day's measured and estimated periods, computed here for the existing
days from the 15-minute rollups (in the zone they were built in), so that existing figures are
right at once; ``energymon accounting recompute`` or ``rebuild-days`` recompute them too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# the domain's mapping as of this revision (declared interval -> collection period)
_PERIODS_S = tuple(900 * k for k in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96))

_COUNT = """
UPDATE consumption_1d d SET measured_periods = x.m, estimated_periods = x.e
FROM (
    SELECT point_id, day, count(*) FILTER (WHERE measured) AS m,
           count(*) FILTER (WHERE NOT measured) AS e
    FROM (
        SELECT c.point_id, (c.bucket AT TIME ZONE :zone)::date AS day,
               floor(extract(epoch FROM c.bucket AT TIME ZONE :zone) / p.period_s) AS n,
               bool_or(c.readings > 0 OR NOT c.estimated) AS measured
        FROM consumption_15m c
        JOIN unnest(CAST(:ids AS integer[]), CAST(:periods AS integer[])) AS p(point_id, period_s)
          ON p.point_id = c.point_id
        GROUP BY 1, 2, 3
    ) per_period
    GROUP BY point_id, day
) x
WHERE d.point_id = x.point_id AND d.day = x.day
"""


def _period(interval_s: int) -> int:
    return next((p for p in _PERIODS_S if p >= interval_s), _PERIODS_S[-1])


def upgrade() -> None:
    op.add_column(
        "meters",
        sa.Column(
            "commissioned",
            sa.Date(),
            nullable=True,
            comment=(
                "local date from which its points owe readings (else from their first reading)"
            ),
        ),
    )
    op.add_column(
        "meters",
        sa.Column(
            "decommissioned",
            sa.Date(),
            nullable=True,
            comment=("first local date on which its points owe no readings"),
        ),
    )
    op.create_check_constraint(
        op.f("ck_meters_decommissioned_after_commissioned"),
        "meters",
        "decommissioned > commissioned",
    )
    for name, comment in (
        ("measured_periods", "the point's collection periods in the day holding measured data"),
        ("estimated_periods", "its periods with only gap-filled (estimated) consumption"),
    ):
        op.add_column(
            "consumption_1d",
            sa.Column(name, sa.SmallInteger(), nullable=False, server_default="0", comment=comment),
        )
    conn = op.get_bind()
    zone = conn.execute(sa.text("SELECT value FROM rollup_meta WHERE key = 'days_zone'")).scalar()
    found = conn.execute(sa.text("SELECT id, interval_s FROM points")).all()
    if zone is None or not found:
        return
    conn.execute(
        sa.text(_COUNT),
        {
            "zone": zone,
            "ids": [int(pid) for pid, _ in found],
            "periods": [_period(int(interval_s)) for _, interval_s in found],
        },
    )


def downgrade() -> None:
    op.drop_column("consumption_1d", "estimated_periods")
    op.drop_column("consumption_1d", "measured_periods")
    op.drop_constraint(op.f("ck_meters_decommissioned_after_commissioned"), "meters")
    op.drop_column("meters", "decommissioned")
    op.drop_column("meters", "commissioned")
