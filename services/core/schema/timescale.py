"""TimescaleDB through SQL: detect the extension, read the layout, carry out the planned changes.

Every statement here is either plain PostgreSQL (the probes) or runs only after the probes said
TimescaleDB is installed and loaded, so plain PostgreSQL never sees a Timescale function. The
decisions themselves are in ``services.core.schema.storage_plan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, text

from services.core.errors import ConfigError
from services.core.logging import get_logger
from services.core.schema.storage_plan import (
    COMPRESSION,
    EXTENSION,
    RETENTION,
    AddPolicy,
    AlterPolicy,
    Change,
    ChunkInterval,
    CurrentStorage,
    PolicyJob,
    RemovePolicy,
    StorageSpec,
    TimescaleDecision,
    TimescaleProbe,
    decide_timescale,
    horizon_candidate,
    plan_storage,
    preloaded,
)

log = get_logger(__name__)

# Each policy's interval in its job's config, and the functions that add and remove it.
_CONFIG_KEY = {COMPRESSION: "compress_after", RETENTION: "drop_after"}
_ADD = {
    COMPRESSION: "SELECT add_compression_policy(CAST(:t AS regclass), make_interval(days => :d))",
    RETENTION: ("SELECT add_retention_policy(CAST(:t AS regclass), make_interval(days => :d))"),
}
_REMOVE = {
    COMPRESSION: "SELECT remove_compression_policy(CAST(:t AS regclass), if_exists => true)",
    RETENTION: ("SELECT remove_retention_policy(CAST(:t AS regclass), if_exists => true)"),
}


def probe(conn: Connection) -> TimescaleProbe:
    """The extension's state, from catalogs any role may read (no Timescale function runs)."""
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = :n"), {"n": EXTENSION}
    ).scalar()
    installed = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = :n"), {"n": EXTENSION}
    ).scalar()
    # pg_settings leaves out what the role may not read (superuser or pg_read_all_settings)
    libraries = conn.execute(
        text("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")
    ).scalar()
    return TimescaleProbe(
        available=bool(available),
        installed=bool(installed),
        preloaded=None if libraries is None else preloaded(str(libraries)),
    )


def decide(conn: Connection, mode: str) -> TimescaleDecision:
    """Probe and decide; log the fallback warning, raise ConfigError for a refusal."""
    decision = decide_timescale(mode, probe(conn))
    if decision.error is not None:
        raise ConfigError(decision.error)
    if decision.warning is not None:
        log.warning("timescaledb_not_used", reason=decision.warning, mode=mode)
    return decision


def usable(conn: Connection) -> bool:
    """True when the extension is created here and its library is loaded, so that Timescale
    functions and views may be called."""
    found = probe(conn)
    return found.installed and found.preloaded is not False


def hypertables(conn: Connection) -> frozenset[str]:
    """The hypertables of the current schema (none on plain PostgreSQL)."""
    if not usable(conn):
        return frozenset()
    rows = conn.execute(
        text(
            "SELECT hypertable_name FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = current_schema()"
        )
    ).scalars()
    return frozenset(str(name) for name in rows)


def current_storage(conn: Connection) -> dict[str, CurrentStorage]:
    """Each hypertable's chunk interval and policy jobs, as the catalogs show them."""
    chunk_s: dict[str, float | None] = {
        str(r.hypertable_name): None if r.seconds is None else float(r.seconds)
        for r in conn.execute(
            text(
                "SELECT hypertable_name, EXTRACT(EPOCH FROM time_interval) AS seconds "
                "FROM timescaledb_information.dimensions "
                "WHERE hypertable_schema = current_schema() AND dimension_number = 1"
            )
        )
    }
    jobs: dict[str, dict[str, PolicyJob]] = {table: {} for table in chunk_s}
    for r in conn.execute(
        text(
            "SELECT hypertable_name, proc_name, job_id, "
            "EXTRACT(EPOCH FROM CAST(config ->> CAST(:compress AS text) AS interval)) AS c, "
            "EXTRACT(EPOCH FROM CAST(config ->> CAST(:drop AS text) AS interval)) AS d "
            "FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = current_schema() "
            "AND proc_name IN ('policy_compression', 'policy_retention')"
        ),
        {"compress": _CONFIG_KEY[COMPRESSION], "drop": _CONFIG_KEY[RETENTION]},
    ):
        after = r.c if r.proc_name == COMPRESSION else r.d
        jobs.setdefault(str(r.hypertable_name), {})[str(r.proc_name)] = PolicyJob(
            int(r.job_id), None if after is None else float(after)
        )
    return {table: CurrentStorage(chunk_s.get(table), jobs[table]) for table in jobs}


def apply_changes(conn: Connection, changes: list[Change]) -> None:
    for change in changes:
        match change:
            case ChunkInterval(table, days):
                conn.execute(
                    text(
                        "SELECT set_chunk_time_interval(CAST(:t AS regclass), "
                        "make_interval(days => :d))"
                    ),
                    {"t": table, "d": days},
                )
            case AddPolicy(table, policy, days):
                conn.execute(text(_ADD[policy]), {"t": table, "d": days})
            case AlterPolicy(_table, policy, job_id, days):
                conn.execute(
                    text(
                        "SELECT alter_job(job_id, config => jsonb_set(config, "
                        "ARRAY[CAST(:key AS text)], to_jsonb(CAST(make_interval(days => :d) "
                        "AS text)))) FROM timescaledb_information.jobs WHERE job_id = :job"
                    ),
                    {"key": _CONFIG_KEY[policy], "d": days, "job": job_id},
                )
            case RemovePolicy(table, policy, _job_id):
                conn.execute(text(_REMOVE[policy]), {"t": table})
        log.info("timescale_storage_changed", change=repr(change))


def apply_storage(conn: Connection, specs: tuple[StorageSpec, ...]) -> list[Change]:
    """Bring chunk intervals and policies to ``specs``, touching only what differs (policy jobs
    keep their ids, history and schedule). Returns the changes made."""
    changes = plan_storage(specs, current_storage(conn))
    apply_changes(conn, changes)
    return changes


def raw_horizon(conn: Connection, *, now: datetime, retention_days: int) -> datetime | None:
    """Where raw readings begin when retention has dropped older ones, else None.

    Data was dropped when rollups exist before the oldest remaining chunk of ``readings`` (or,
    with no chunk left, before the retention cut): rollups are only ever computed from raw
    readings. Plain PostgreSQL drops nothing.
    """
    if "readings" not in hypertables(conn):
        return None
    oldest = conn.execute(
        text(
            "SELECT min(range_start) FROM timescaledb_information.chunks "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = 'readings'"
        )
    ).scalar()
    horizon = horizon_candidate(oldest, now, retention_days)
    before = conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM consumption_15m WHERE bucket < :h)"), {"h": horizon}
    ).scalar()
    return horizon if before else None


def chunk_ranges(conn: Connection, table: str) -> Mapping[str, bool]:
    """Chunk name -> compressed, of one hypertable (for tests and benchmarks)."""
    return {
        str(r.chunk_name): bool(r.is_compressed)
        for r in conn.execute(
            text(
                "SELECT chunk_name, is_compressed FROM timescaledb_information.chunks "
                "WHERE hypertable_schema = current_schema() AND hypertable_name = :t"
            ),
            {"t": table},
        )
    }


def migration_may_use(conn: Connection, attributes: Mapping[str, object]) -> bool:
    """Whether a migration may create TimescaleDB objects: the decision ``upgrade`` took, or a
    fresh one when Alembic runs the migrations by itself."""
    use = attributes.get("timescale_use")
    if use is None:
        use = decide(conn, str(attributes.get("timescale", "auto"))).use
    return bool(use)
