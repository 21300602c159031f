"""Exactly one active process of a service: a PostgreSQL session-level advisory lock held on a
dedicated connection. When the active process dies its connection closes, the lock is released,
and a standby acquires it at its next attempt (within one of its intervals).

The alerts evaluator and the accounting service each run two processes this way; each has its
own key below, so neither waits for the other.

Raw psycopg on purpose: a session-level lock belongs to one server session, so the connection
must never be recycled, reset or shared by a pool; holding a plain psycopg connection makes that
explicit. Its three statements take bound parameters only."""

from __future__ import annotations

import contextlib
import threading

import psycopg

from services.core.logging import get_logger
from services.core.settings import DatabaseSettings

log = get_logger(__name__)

# Advisory lock keys, one per service; never reuse one for something else, and never change one:
# during a rolling upgrade the old and the new version of a service must contend for the same key.
ALERTS_EVALUATOR = 0x656E_6572_6779  # "energy"
ACCOUNTING_ROLLUPS = 0x726F_6C6C_7570  # "rollup"


class LeaderLock:
    """``ensure()`` before each unit of work: True while this process holds ``key``."""

    def __init__(self, settings: DatabaseSettings, key: int, *, name: str) -> None:
        self._settings = settings
        self._key = key
        self.name = name  # what is active, for the log and the connection's application_name
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.is_leader = False
        # Jobs may call ensure() from several threads: without this lock two of them could each
        # open a connection, and dropping the one that took the lock would release it.
        self._mutex = threading.Lock()

    def ensure(self) -> bool:
        """True while this process holds the lock; tries to take it otherwise."""
        with self._mutex:
            return self._ensure_locked()

    def _ensure_locked(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self.is_leader = False
                self._conn = psycopg.connect(
                    self._settings.libpq_url,
                    autocommit=True,
                    connect_timeout=max(1, int(self._settings.connect_timeout_s)),
                    application_name=f"energymon-{self.name}-leader",
                )
            if self.is_leader:
                self._conn.execute("SELECT 1")  # still connected means still holding it
                return True
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            self.is_leader = bool(row and row[0])
            if self.is_leader:
                log.info("now active", service=self.name)
        except psycopg.Error as err:
            if self.is_leader:
                log.error("lost the leader lock", service=self.name, error=str(err))
            self.is_leader = False
            self._close_locked()
        return self.is_leader

    @property
    def connected(self) -> bool:
        """Ready = active, or a standby able to reach the database."""
        return self._conn is not None and not self._conn.closed

    @property
    def role(self) -> str:
        return "active" if self.is_leader else "standby"

    def close(self) -> None:
        with self._mutex:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._conn is not None:
            if self.is_leader and not self._conn.closed:
                # release now: the server would only notice the closed session a moment later,
                # and a standby checking in that moment would wrongly stay standby
                with contextlib.suppress(psycopg.Error):  # a dead session released it already
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            self._conn.close()
            self._conn = None
        self.is_leader = False
