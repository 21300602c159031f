"""Schema migrations (Alembic) and the TimescaleDB storage policies.

``upgrade`` brings a database to the newest revision. Whether readings become a TimescaleDB
hypertable is decided once, in the revision that creates the storage layout, from the
``ENERGYMON_DATABASE_TIMESCALE`` setting and the extension's availability; compression and retention
policies are (re)applied on every upgrade so that changed settings take effect.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from services.core.errors import ConfigError
from services.core.settings import DatabaseSettings

MIGRATIONS = Path(__file__).with_name("migrations")
HYPERTABLES = ("readings",)


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
    installed = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).scalar()
    if not installed:
        return False
    return bool(
        conn.execute(
            text(
                "SELECT 1 FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'readings'"
            )
        ).scalar()
    )


def upgrade(engine: Engine, settings: DatabaseSettings) -> str | None:
    """Migrate to head, then apply storage policies. Returns the new revision."""
    cfg = alembic_config(settings)
    with engine.begin() as conn:
        # One migrator at a time when several replicas start together.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('energymon.migrate'))"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        if timescale_enabled(conn):
            apply_storage_policies(conn, settings)
        elif settings.timescale == "on":
            raise ConfigError("ENERGYMON_DATABASE_TIMESCALE=on but readings is not a hypertable")
        return current_revision(conn)


def apply_storage_policies(conn: Connection, settings: DatabaseSettings) -> None:
    """(Re)apply compression and retention so that the current settings are in force."""
    for table in HYPERTABLES:
        conn.execute(text("SELECT remove_compression_policy(:t, if_exists => true)"), {"t": table})
        conn.execute(
            text("SELECT add_compression_policy(:t, make_interval(days => :d))"),
            {"t": table, "d": settings.compress_after_days},
        )
        conn.execute(text("SELECT remove_retention_policy(:t, if_exists => true)"), {"t": table})
        conn.execute(
            text("SELECT add_retention_policy(:t, make_interval(days => :d))"),
            {"t": table, "d": settings.retention_days},
        )
