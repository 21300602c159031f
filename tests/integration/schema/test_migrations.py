"""The migrations build exactly the schema the code declares, on plain PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.core.db import make_engine
from services.core.schema.migrate import current_revision, head_revision, timescale_enabled, upgrade
from services.core.schema.tables import metadata
from services.core.settings import DatabaseSettings


def test_migrated_database_matches_the_table_definitions(db_settings: DatabaseSettings) -> None:
    engine = make_engine(db_settings)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert current_revision(conn) == head_revision(db_settings)
        assert not timescale_enabled(conn)
    engine.dispose()


def test_upgrading_twice_is_harmless(db_settings: DatabaseSettings) -> None:
    engine = make_engine(db_settings)
    assert upgrade(engine, db_settings) == head_revision(db_settings)
    assert upgrade(engine, db_settings) == head_revision(db_settings)
    engine.dispose()
