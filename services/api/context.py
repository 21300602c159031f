"""Per-app state: settings, database, writer pool, registry snapshot, metrics, rate limiter,
login throttle."""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Engine

from services.api.accounts import AccountVersions
from services.api.replica import ReadChoice, ReplicaWatch
from services.api.snapshots import Snapshots
from services.api.throttle import LoginThrottle
from services.core.pipeline.index import RegistryIndex, load_index
from services.core.pipeline.validate import Limits
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import (
    AccountingSettings,
    AlertsSettings,
    ApiSettings,
    CommonSettings,
    DatabaseSettings,
    IngestSettings,
    IntensitySettings,
    QualitySettings,
    QuotaSettings,
)


@dataclass(frozen=True)
class ApiConfig:
    common: CommonSettings
    db: DatabaseSettings
    api: ApiSettings
    ingest: IngestSettings
    # budget status uses the alerts' warning thresholds, so the API and the alerts agree
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    # answers with figures say when the rollups are later than its lag threshold
    accounting: AccountingSettings = field(default_factory=AccountingSettings)
    # the data-quality report's thresholds, as the quality alerts use them
    quality: QualitySettings = field(default_factory=QualitySettings)
    # the quota file products are judged by, and the district's intensity target
    quotas: QuotaSettings = field(default_factory=QuotaSettings)
    intensity: IntensitySettings = field(default_factory=IntensitySettings)

    @classmethod
    def from_env(cls, **api_overrides: object) -> ApiConfig:
        """The settings from ``ENERGYMON_*``; ``api_overrides`` (command-line flags such as
        ``port=8001``) take precedence over the environment and are validated alike."""
        api = ApiSettings(**api_overrides)  # type: ignore[arg-type]
        return cls(CommonSettings(), DatabaseSettings(), api, IngestSettings())

    @property
    def budget_thresholds(self) -> tuple[float, ...]:
        """The shares of a budget whose passing is a warning, as the budget alerts use them."""
        spec = self.alerts.budget_thresholds
        return tuple(float(t) for t in spec.split(",") if t.strip())


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "energymon_api_requests_total",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "energymon_api_request_seconds",
            "Request latency by route template and method.",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.ingest_readings = Counter(
            "energymon_api_ingest_readings_total",
            "HTTP-ingested readings by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.logins_throttled = Counter(
            "energymon_api_logins_throttled_total",
            "Logins refused by the login throttle, by the limit that refused them.",
            ["limit"],
            registry=registry,
        )
        for limit in ("username", "address"):
            self.logins_throttled.labels(limit)  # both series exist from the start, at 0


class WriterPool:
    """A few ReadingWriters shared by request threads (each owns one connection)."""

    def __init__(self, settings: DatabaseSettings, size: int = 4) -> None:
        self._pool: queue.Queue[ReadingWriter] = queue.Queue()
        for _ in range(size):
            self._pool.put(ReadingWriter(settings))

    @contextmanager
    def writer(self) -> Iterator[ReadingWriter]:
        w = self._pool.get()
        try:
            yield w
        finally:
            self._pool.put(w)

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()


class RegistryCache:
    """The registry snapshot HTTP ingest validates against; reloaded like ingest's."""

    def __init__(self, engine: Engine, refresh_s: float) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._index: RegistryIndex | None = None
        self._loaded = 0.0
        self._lock = threading.Lock()

    def get(self, *, force: bool = False) -> RegistryIndex:
        with self._lock:
            age = time.monotonic() - self._loaded
            if self._index is None or age > self._refresh_s or (force and age > 2.0):
                with self._engine.connect() as conn:
                    self._index = load_index(conn)
                self._loaded = time.monotonic()
            return self._index


class RateLimiter:
    """Token bucket per credential: ``rate`` requests/s sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds until a request would be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate


@dataclass
class ApiContext:
    config: ApiConfig
    engine: Engine
    writers: WriterPool
    registry: RegistryCache
    metrics: ApiMetrics
    limiter: RateLimiter
    logins: LoginThrottle
    snapshots: Snapshots
    accounts: AccountVersions
    # the read replica (ENERGYMON_DATABASE_READ_URL) and the thread that watches it; None: none
    replica: Engine | None = None
    watch: ReplicaWatch | None = None
    limits: Limits = field(init=False)
    reads: Engine = field(init=False)
    primary_reads: Engine = field(init=False)
    replica_reads: Engine | None = field(init=False, default=None)
    replica_behind_s: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.limits = Limits.from_settings(self.config.ingest, self.config.db)
        # Read-only requests run in autocommit on the same pool: no BEGIN/ROLLBACK round trips,
        # and psycopg keeps the statements it prepared (a rollback makes it deallocate them all;
        # a prepared consumption query costs 1.8 ms instead of 4.7). Under READ COMMITTED each
        # statement sees its own snapshot inside a transaction too, so answers are unchanged.
        # Writes use ``engine.begin()``; reads that must see the latest commit (logins, token
        # versions) use ``primary_reads``; ``reads`` is the primary too, except in the context
        # of a request routed to the replica (:meth:`reading`).
        self.primary_reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.reads = self.primary_reads
        self.replica_reads = (
            None
            if self.replica is None
            else self.replica.execution_options(isolation_level="AUTOCOMMIT")
        )

    def reading(self, choice: ReadChoice) -> ApiContext:
        """This context for one request whose reads go where ``choice`` says."""
        if not choice.replica or self.replica_reads is None:
            return self
        routed = copy.copy(self)
        routed.reads = self.replica_reads
        routed.replica_behind_s = choice.behind_s
        return routed
