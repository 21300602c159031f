"""One tick of the accounting service: a standby does nothing; the active process runs a pass and
counts it; a failed pass is counted and retried next tick, never raised."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.accounting import runner as runner_module
from services.accounting.lag import LagProbe
from services.accounting.metrics import AccountingMetrics
from services.accounting.rollup import CatchUpStats
from services.accounting.runner import Runner


class Leader:
    def __init__(self, active: bool) -> None:
        self.active = active

    def ensure(self) -> bool:
        return self.active


def _runner(active: bool) -> tuple[Runner, CollectorRegistry, list[str]]:
    registry = CollectorRegistry()
    looks: list[str] = []

    def read() -> float | None:
        looks.append("look")
        return None

    runner = Runner(
        engine=None,  # type: ignore[arg-type]
        leader=Leader(active),  # type: ignore[arg-type]
        metrics=AccountingMetrics(registry),
        probe=LagProbe(read),
        ranges_per_transaction=10,
    )
    return runner, registry, looks


def _value(registry: CollectorRegistry, name: str) -> float:
    value = registry.get_sample_value(name)
    assert value is not None, name
    return value


def test_a_standby_runs_no_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "catch_up", lambda *_a, **_k: pytest.fail("a pass"))
    runner, registry, looks = _runner(active=False)
    assert runner.tick() is None
    assert _value(registry, "energymon_accounting_leader") == 0
    assert _value(registry, "energymon_accounting_last_pass_timestamp_seconds") == 0
    assert looks == []


def test_the_active_process_runs_a_pass_and_counts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def catch_up(_engine: object, **kwargs: Any) -> CatchUpStats:
        calls.append(kwargs)
        return CatchUpStats(ranges=3, points=2, buckets_written=7, seconds=0.25)

    monkeypatch.setattr(runner_module, "catch_up", catch_up)
    runner, registry, looks = _runner(active=True)
    assert runner.tick() == CatchUpStats(3, 2, 7, 0.25)
    assert calls == [{"limit": 10}]
    assert _value(registry, "energymon_accounting_leader") == 1
    assert _value(registry, "energymon_accounting_ranges_total") == 3
    assert _value(registry, "energymon_accounting_buckets_written_total") == 7
    assert _value(registry, "energymon_accounting_pass_seconds_count") == 1
    assert _value(registry, "energymon_accounting_last_pass_timestamp_seconds") > 0
    assert looks == ["look"]  # the lag is looked at again once the figures are current


def test_a_failed_pass_is_counted_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def catch_up(_engine: object, **_kwargs: Any) -> CatchUpStats:
        raise RuntimeError("deadlock detected")

    monkeypatch.setattr(runner_module, "catch_up", catch_up)
    runner, registry, _ = _runner(active=True)
    assert runner.tick() is None
    assert runner.tick() is None
    assert _value(registry, "energymon_accounting_pass_failures_total") == 2
    assert _value(registry, "energymon_accounting_last_pass_timestamp_seconds") == 0
