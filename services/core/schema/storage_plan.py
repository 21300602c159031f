"""What to change in the TimescaleDB storage layout, given what is there and what the settings ask.

Pure functions over plain values: whether TimescaleDB can be used at all, and which chunk
intervals and policies to set, alter or remove. ``services.core.schema.timescale`` reads the
current state from the database and carries the changes out; nothing here touches a connection,
so every decision is tested without a TimescaleDB server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

EXTENSION = "timescaledb"
DAY_S = 86_400.0
Policy = Literal["policy_compression", "policy_retention"]
COMPRESSION: Policy = "policy_compression"
RETENTION: Policy = "policy_retention"

# consumption_1d holds one row per point and day: a year per chunk gives each compressed batch
# (one point's rows of one chunk, at most 1,000 values) 365 rows, as a 7-day chunk of
# consumption_15m gives 672.
DAILY_CHUNK_DAYS = 365

# A recomputation must start far enough after the oldest raw reading that every bucket it
# rewrites still has the reading before it (daily-freeze points read once a day).
RECOMPUTE_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class TimescaleProbe:
    """What the server says about the extension, read before anything is created."""

    available: bool  # pg_available_extensions lists it (the package is installed)
    installed: bool  # pg_extension: CREATE EXTENSION has run in this database
    preloaded: bool | None  # in shared_preload_libraries; None when the role may not read it


@dataclass(frozen=True)
class TimescaleDecision:
    """Use TimescaleDB or not; ``warning`` to log when falling back, ``error`` to refuse."""

    use: bool
    warning: str | None = None
    error: str | None = None


PRELOAD_HINT = (
    "add timescaledb to shared_preload_libraries in postgresql.conf and restart PostgreSQL"
)


def preloaded(shared_preload_libraries: str) -> bool:
    """True when the ``shared_preload_libraries`` value names the TimescaleDB loader.

    The value is a comma-separated list; entries may be quoted, carry a directory
    (``$libdir/timescaledb``) or a versioned file name (``timescaledb-2.28.3.so``).
    """
    for entry in shared_preload_libraries.split(","):
        name = entry.strip().strip('"').rsplit("/", 1)[-1].removesuffix(".so")
        if name == EXTENSION or name.startswith(f"{EXTENSION}-"):
            return True
    return False


def _obstacle(probe: TimescaleProbe) -> tuple[str, bool] | None:
    """What stands in the way of using TimescaleDB, and whether ``auto`` should warn about it
    (plain PostgreSQL without the package is normal, not worth a warning)."""
    if not probe.available and not probe.installed:
        return "the timescaledb extension is not installed on the PostgreSQL server", False
    if probe.preloaded is False:
        return f"timescaledb is not in shared_preload_libraries: {PRELOAD_HINT}", True
    if probe.preloaded is None and not probe.installed:
        # CREATE EXTENSION would be a gamble that may end the session: do not take it.
        return (
            "shared_preload_libraries cannot be read (the role needs pg_read_all_settings), "
            "so timescaledb is not created",
            True,
        )
    return None


def decide_timescale(mode: str, probe: TimescaleProbe) -> TimescaleDecision:
    """Whether ``db upgrade`` may create or use TimescaleDB objects under ``mode``
    (ENERGYMON_DATABASE_TIMESCALE: auto, on, off). Decided before CREATE EXTENSION, which ends
    the session (FATAL) when the library is not preloaded."""
    obstacle = None if mode == "off" else _obstacle(probe)
    if mode == "off":
        return TimescaleDecision(use=False)
    if obstacle is None:
        return TimescaleDecision(use=True)
    reason, warn = obstacle
    if mode == "on":
        return TimescaleDecision(use=False, error=f"ENERGYMON_DATABASE_TIMESCALE=on but {reason}")
    warning = f"{reason}; using plain PostgreSQL tables" if warn else None
    return TimescaleDecision(use=False, warning=warning)


@dataclass(frozen=True)
class StorageSpec:
    """The wanted layout of one hypertable (days; None = no such policy)."""

    table: str
    chunk_days: int
    compress_after_days: int | None
    retention_days: int | None


@dataclass(frozen=True)
class PolicyJob:
    """A policy job as it is: its id and its interval in seconds (None if not an interval)."""

    job_id: int
    after_s: float | None


@dataclass(frozen=True)
class CurrentStorage:
    """One hypertable as it is: its chunk interval and its policy jobs by procedure name."""

    chunk_s: float | None
    jobs: Mapping[str, PolicyJob]


@dataclass(frozen=True)
class ChunkInterval:
    """``set_chunk_time_interval``: applies to chunks created from now on."""

    table: str
    days: int


@dataclass(frozen=True)
class AddPolicy:
    table: str
    policy: Policy
    days: int


@dataclass(frozen=True)
class AlterPolicy:
    """``alter_job`` on the existing job: its id, history and schedule stay."""

    table: str
    policy: Policy
    job_id: int
    days: int


@dataclass(frozen=True)
class RemovePolicy:
    table: str
    policy: Policy
    job_id: int


Change = ChunkInterval | AddPolicy | AlterPolicy | RemovePolicy


def storage_specs(
    *, chunk_interval_days: int, compress_after_days: int, retention_days: int
) -> tuple[StorageSpec, ...]:
    """The layout the settings ask for: raw readings compressed and dropped after retention;
    the rollups compressed and kept (they are the record once raw readings are gone)."""
    return (
        StorageSpec("readings", chunk_interval_days, compress_after_days, retention_days),
        StorageSpec("consumption_15m", chunk_interval_days, compress_after_days, None),
        StorageSpec("consumption_1d", DAILY_CHUNK_DAYS, compress_after_days, None),
    )


def plan_policy(
    table: str, policy: Policy, current: PolicyJob | None, days: int | None
) -> list[Change]:
    """The changes that make ``table``'s ``policy`` run at ``days`` (None: no policy)."""
    if current is None:
        return [] if days is None else [AddPolicy(table, policy, days)]
    if days is None:
        return [RemovePolicy(table, policy, current.job_id)]
    if current.after_s is None:  # set another way (e.g. by creation time): replace it
        return [RemovePolicy(table, policy, current.job_id), AddPolicy(table, policy, days)]
    if current.after_s == days * DAY_S:
        return []
    return [AlterPolicy(table, policy, current.job_id, days)]


def plan_storage(
    specs: Sequence[StorageSpec], current: Mapping[str, CurrentStorage]
) -> list[Change]:
    """Every change that brings the hypertables in ``current`` to ``specs``; nothing for a
    table that is not a hypertable, and nothing at all when they already match."""
    changes: list[Change] = []
    for spec in specs:
        now = current.get(spec.table)
        if now is None:
            continue
        if now.chunk_s != spec.chunk_days * DAY_S:
            changes.append(ChunkInterval(spec.table, spec.chunk_days))
        wanted: tuple[tuple[Policy, int | None], ...] = (
            (COMPRESSION, spec.compress_after_days),
            (RETENTION, spec.retention_days),
        )
        for policy, days in wanted:
            changes += plan_policy(spec.table, policy, now.jobs.get(policy), days)
    return changes


def horizon_candidate(
    oldest_chunk_start: datetime | None, now: datetime, retention_days: int
) -> datetime:
    """Where raw readings begin: the oldest remaining chunk's start, or, when retention has
    dropped every chunk, the retention policy's cut."""
    if oldest_chunk_start is not None:
        return oldest_chunk_start
    return now - timedelta(days=retention_days)


def recompute_refusal(since: datetime | None, horizon: datetime | None) -> str | None:
    """Why ``accounting recompute --since`` must not run, or None when it may.

    ``horizon`` is where raw readings begin after retention dropped older ones (None: nothing
    was dropped). Rollups before it would be rewritten from nothing, and the first bucket after
    it without the reading before it, so a recomputation starts a margin after the horizon.
    """
    if horizon is None:
        return None
    earliest = horizon + RECOMPUTE_MARGIN
    if since is not None and since >= earliest:
        return None
    return (
        f"raw readings before {horizon.isoformat()} are gone (dropped by retention, "
        f"ENERGYMON_DATABASE_RETENTION_DAYS); recompute from --since {earliest.isoformat()} "
        "or later"
    )
