"""api_users.token_version ends a deactivated account's tokens; api_keys.issued_by

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

Tokens and console sessions are signed and stateless. Each carries the account's
``token_version``; deactivating an account raises it, so every token issued before stops working
at once, and stays dead if the account is reactivated. ``api_keys.issued_by`` records the admin
who issued a key at the console (NULL for the command line).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_users",
        sa.Column(
            "token_version",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="raised at deactivation: tokens and sessions issued before stop working",
        ),
    )
    op.add_column(
        "api_keys",
        sa.Column(
            "issued_by",
            sa.String(length=128),
            nullable=True,
            comment="the admin who issued it at the console; NULL: the command line",
        ),
    )


def downgrade() -> None:
    op.drop_column("api_keys", "issued_by")
    op.drop_column("api_users", "token_version")
