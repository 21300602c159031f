"""The leader lock (alerts, accounting): one holder, even when many threads of one process ask at
once."""

from __future__ import annotations

import threading

from services.core.leader import ACCOUNTING_ROLLUPS, ALERTS_EVALUATOR, LeaderLock
from services.core.settings import DatabaseSettings


def test_concurrent_checks_in_one_process_never_let_another_process_lead(
    db_settings: DatabaseSettings,
) -> None:
    a = LeaderLock(db_settings, 4242, name="test")
    b = LeaderLock(db_settings, 4242, name="test")
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


def test_each_service_has_a_key_of_its_own(db_settings: DatabaseSettings) -> None:
    alerts = LeaderLock(db_settings, ALERTS_EVALUATOR, name="alerts")
    accounting = LeaderLock(db_settings, ACCOUNTING_ROLLUPS, name="accounting")
    try:
        assert alerts.ensure() is True
        assert accounting.ensure() is True  # not held up by the alerts evaluator's lock
        assert (alerts.role, accounting.role) == ("active", "active")
    finally:
        alerts.close()
        accounting.close()
    assert (alerts.role, alerts.connected) == ("standby", False)
