"""Alembic environment: runs migrations on the connection handed over by ``migrate.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from services.core.schema.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url or a connection attribute is required"
    with create_engine(url).connect() as conn:
        _run(conn)
else:
    _run(connection)
