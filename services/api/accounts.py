"""Each account's token version, remembered per API process and forgotten the moment PostgreSQL
says the account changed, so that a signed token is checked against its account on every request
without a database round trip on every request.

A deactivation raises the account's token version and, in the same transaction, notifies the
channel ``energymon_accounts`` with the account's id (``services.core.store.users.set_active``).
A thread of each API process listens on it and forgets that account; a request that finds no
remembered version reads it. While the thread is not listening (starting, or its connection
lost) nothing is remembered and every request reads the database, so a deactivation is never
missed: at worst a request costs the read it cost before."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from starlette.concurrency import run_in_threadpool

from services.core.logging import get_logger
from services.core.store.users import ACCOUNTS_CHANNEL

log = get_logger("api.accounts")
RETRY_S = 5.0
POLL_S = 1.0  # how often the thread looks up from waiting, to notice it should stop


class AccountVersions:
    def __init__(self, libpq_url: str) -> None:
        self._url = libpq_url
        self._known: dict[int, int | None] = {}  # account id -> token version (None: inactive)
        self._generation = 0  # moves on whenever anything may have been forgotten
        self._listening = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="account-versions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=POLL_S * 3)

    @property
    def listening(self) -> bool:
        return self._listening

    def version(self, account: int, read: Callable[[], int | None]) -> int | None:
        """The account's token version: remembered, or ``read()`` (and remembered if nothing
        changed meanwhile)."""
        with self._lock:
            if account in self._known:
                return self._known[account]
            generation = self._generation
        found = read()
        with self._lock:
            if self._listening and generation == self._generation:
                self._known[account] = found
        return found

    def remembered(self, account: int) -> tuple[bool, int | None]:
        """(True, version) when the account's version is remembered, else (False, None)."""
        with self._lock:
            if account in self._known:
                return True, self._known[account]
        return False, None

    def forget(self, account: int | None = None) -> None:
        """Forget one account (None: every account)."""
        with self._lock:
            self._generation += 1
            if account is None:
                self._known.clear()
            else:
                self._known.pop(account, None)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except (psycopg.Error, OSError) as err:
                log.warning("account notifications lost; checking every request", error=str(err))
            finally:
                with self._lock:
                    self._listening = False
                self.forget()
            self._stop.wait(RETRY_S)

    def _listen(self) -> None:
        with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(ACCOUNTS_CHANNEL))
            )
            self.forget()  # whatever happened before we listened is read again
            with self._lock:
                self._listening = True
            while not self._stop.is_set():
                for note in conn.notifies(timeout=POLL_S):
                    self.forget(int(note.payload) if note.payload.isdigit() else None)


async def version_of(
    accounts: AccountVersions, account: int, read: Callable[[], int | None]
) -> int | None:
    """:meth:`AccountVersions.version` from a request: the read, when one is needed, in a
    worker thread."""
    known, version = accounts.remembered(account)
    if known:
        return version
    return await run_in_threadpool(accounts.version, account, read)
