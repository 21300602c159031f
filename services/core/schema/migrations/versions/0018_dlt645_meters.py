"""DL/T 645 meters: ``meters.protocol`` may be ``dlt645``

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

DL/T 645-2007 meters are polled by the field poller beside Modbus meters; their readings carry
source code 5 (``readings.source``, a smallint without a constraint; its comment says so).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _source_comment(text: str) -> None:
    op.alter_column("readings", "source", existing_type=sa.SmallInteger(), comment=text)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_meters_protocol"), "meters", type_="check")
    op.create_check_constraint(
        op.f("ck_meters_protocol"), "meters", "protocol IN ('mqtt', 'modbus', 'http', 'dlt645')"
    )
    _source_comment("1 mqtt, 2 modbus, 3 http, 4 import, 5 dlt645")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_meters_protocol"), "meters", type_="check")
    op.create_check_constraint(
        op.f("ck_meters_protocol"), "meters", "protocol IN ('mqtt', 'modbus', 'http')"
    )
    _source_comment("1 mqtt, 2 modbus, 3 http, 4 import")
