"""The evaluator lock: one holder, even when many threads of one process ask at once."""

from __future__ import annotations

import threading

from services.alerts.leader import LeaderLock
from services.core.settings import DatabaseSettings


def test_concurrent_checks_in_one_process_never_let_another_process_lead(
    db_settings: DatabaseSettings,
) -> None:
    a, b = LeaderLock(db_settings, key=4242), LeaderLock(db_settings, key=4242)
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def ask() -> None:
        barrier.wait()
        results.append(a.ensure())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert results == [True] * 16
        assert b.ensure() is False
        assert a.ensure() is True
        a.close()  # the active process goes away ...
        assert b.ensure() is True  # ... and the standby takes over at its next check
    finally:
        a.close()
        b.close()
