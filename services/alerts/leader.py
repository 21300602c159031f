"""Exactly one active evaluator: a PostgreSQL session-level advisory lock held on a dedicated
connection. When the active process dies its connection closes, the lock is released, and a
standby acquires it at its next attempt (within one evaluation interval)."""

from __future__ import annotations

import contextlib
import threading

import psycopg

from services.core.logging import get_logger
from services.core.settings import DatabaseSettings

log = get_logger(__name__)
LOCK_KEY = 0x656E_6572_6779  # "energy"


class LeaderLock:
    def __init__(self, settings: DatabaseSettings, key: int = LOCK_KEY) -> None:
        self._settings = settings
        self._key = key
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.is_leader = False
        # Scheduler jobs call ensure() from several threads: without this lock two of them could
        # each open a connection, and dropping the one that took the lock would release it.
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
                    connect_timeout=5,
                    application_name="energymon-alerts-leader",
                )
            if self.is_leader:
                self._conn.execute("SELECT 1")  # still connected means still holding it
                return True
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            self.is_leader = bool(row and row[0])
            if self.is_leader:
                log.info("alerts evaluator is now active")
        except psycopg.Error as err:
            if self.is_leader:
                log.error("lost the evaluator lock", error=str(err))
            self.is_leader = False
            self._close_locked()
        return self.is_leader

    @property
    def connected(self) -> bool:
        """Ready = active, or a standby able to reach the database."""
        return self._conn is not None and not self._conn.closed

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
