"""Schema migrations (Alembic) and the TimescaleDB storage layout.

``upgrade`` first decides whether TimescaleDB may be used (``ENERGYMON_DATABASE_TIMESCALE`` and
what the server says: extension available, library preloaded), before anything could run
``CREATE EXTENSION``; then brings the database to the newest revision; then, on TimescaleDB,
brings chunk intervals and policies to the settings, changing only what differs, so that an
unchanged upgrade touches no job (``services.core.schema.storage_plan``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from services.core.errors import ConfigError
from services.core.schema import timescale
from services.core.schema.storage_plan import Change, storage_specs
from services.core.settings import DatabaseSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(settings: DatabaseSettings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    cfg.attributes["timescale"] = settings.timescale
    cfg.attributes["chunk_interval_days"] = settings.chunk_interval_days
    return cfg


def head_revision(settings: DatabaseSettings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def timescale_enabled(conn: Connection) -> bool:
    """True when the readings table is a TimescaleDB hypertable."""
    return "readings" in timescale.hypertables(conn)


def upgrade(engine: Engine, settings: DatabaseSettings) -> str | None:
    """Migrate to head, then apply the storage layout. Returns the new revision."""
    cfg = alembic_config(settings)
    with engine.begin() as conn:
        # One migrator at a time when several replicas start together.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('energymon.migrate'))"))
        decision = timescale.decide(conn, settings.timescale)
        cfg.attributes["timescale_use"] = decision.use
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        if decision.use and timescale_enabled(conn):
            apply_storage_policies(conn, settings)
        elif settings.timescale == "on":
            raise ConfigError("ENERGYMON_DATABASE_TIMESCALE=on but readings is not a hypertable")
        return current_revision(conn)


def apply_storage_policies(conn: Connection, settings: DatabaseSettings) -> list[Change]:
    """Bring chunk intervals, compression and retention to the settings; returns the changes."""
    specs = storage_specs(
        chunk_interval_days=settings.chunk_interval_days,
        compress_after_days=settings.compress_after_days,
        retention_days=settings.retention_days,
    )
    return timescale.apply_storage(conn, specs)
