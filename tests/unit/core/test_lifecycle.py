"""The stop event, its signal handlers and the shutdown watchdog (services/core/lifecycle.py).

Signals here are SIGUSR1/SIGUSR2 sent to this process, and every exit goes to a recorder: the
test run keeps its own SIGTERM and SIGINT handlers and never exits."""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import structlog

from services.core import lifecycle
from services.core.lifecycle import StopEvent, Watchdog, handle_signals, stop_on_signals
from services.core.logging import configure_logging
from services.core.settings import CommonSettings


@pytest.fixture
def restore_signals() -> Iterator[None]:
    signums = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
    saved = {s: signal.getsignal(s) for s in signums}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


@pytest.fixture
def json_logs() -> Iterator[None]:
    configured, saved = structlog.is_configured(), structlog.get_config()
    configure_logging("INFO", "json")
    yield
    if configured:
        structlog.configure(**saved)
    else:
        structlog.reset_defaults()


def _events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_stop_event_is_a_threading_event_for_its_callers() -> None:
    stop = StopEvent()
    assert isinstance(stop, threading.Event)
    assert not stop.is_set()
    assert stop.wait(0) is False
    assert stop.wait(0.01) is False
    stop.set()
    stop.set()  # idempotent
    assert stop.is_set()
    assert stop.wait() is True
    assert stop.wait(0) is True


def test_set_from_another_thread_wakes_every_waiter() -> None:
    stop = StopEvent()
    woke: list[bool] = []
    waiters = [threading.Thread(target=lambda: woke.append(stop.wait(30))) for _ in range(5)]
    for t in waiters:
        t.start()
    started = time.monotonic()
    stop.set()
    for t in waiters:
        t.join(10)
    assert woke == [True] * 5
    assert time.monotonic() - started < 5


def test_wait_returns_after_its_timeout_when_nothing_sets_the_event() -> None:
    stop = StopEvent()
    started = time.monotonic()
    assert stop.wait(0.05) is False
    assert time.monotonic() - started >= 0.05


def test_clear_resets_the_event_and_a_later_set_wakes_waiters_again() -> None:
    stop = StopEvent()
    stop.set()
    stop.clear()
    assert not stop.is_set()
    assert stop.wait(0.02) is False
    threading.Timer(0.05, stop.set).start()
    assert stop.wait(10) is True


def test_fileno_turns_readable_when_the_event_is_set() -> None:
    stop = StopEvent()
    poller = select.poll()
    poller.register(stop.fileno(), select.POLLIN)
    assert poller.poll(0) == []
    stop.set()
    assert poller.poll(0)


def test_a_signal_during_wait_wakes_the_main_thread(restore_signals: None) -> None:
    """The handler runs in this (main) thread while it is inside ``wait()``."""
    stop = StopEvent()
    handle_signals(stop, signals=(signal.SIGUSR1,), exit_process=lambda _code: None)
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
    started = time.monotonic()
    assert stop.wait(30) is True
    assert time.monotonic() - started < 10
    assert stop.signum == signal.SIGUSR1


def test_the_first_signal_sets_the_event_and_the_second_exits_with_128_plus_its_number(
    restore_signals: None, json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    stop = StopEvent()
    exits: list[int] = []
    handle_signals(
        stop, timeout_s=20, signals=(signal.SIGUSR1, signal.SIGUSR2), exit_process=exits.append
    )
    signal.raise_signal(signal.SIGUSR2)
    assert stop.is_set()
    assert stop.signum == signal.SIGUSR2
    assert exits == []
    signal.raise_signal(signal.SIGUSR1)
    assert exits == [128 + signal.SIGUSR1]
    first, second = _events(capfd.readouterr().err)
    assert first["event"] == "stop requested"
    assert (first["signal"], first["shutdown_timeout_s"]) == ("SIGUSR2", 20)
    assert second["event"] == "second signal: exiting without a clean shutdown"
    assert (second["signal"], second["exit_code"]) == ("SIGUSR1", 128 + signal.SIGUSR1)
    assert second["level"] == "warning"


def test_the_watchdog_waits_for_the_stop_then_for_the_timeout() -> None:
    stop = StopEvent()
    exits: list[int] = []
    watchdog = Watchdog(stop, 0.1, exit_process=exits.append).start()
    watchdog.thread.join(0.3)
    assert watchdog.thread.is_alive()  # not stopped: no timeout runs
    assert exits == []
    stop.signum = signal.SIGTERM
    started = time.monotonic()
    stop.set()
    watchdog.thread.join(10)
    assert exits == [128 + signal.SIGTERM]
    assert time.monotonic() - started >= 0.1


def test_the_watchdog_logs_one_structured_line_before_it_exits(
    json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    stop = StopEvent()
    exits: list[int] = []
    watchdog = Watchdog(stop, 0.01, exit_process=exits.append).start()
    stop.set()  # by the program, not a signal
    watchdog.thread.join(10)
    assert exits == [lifecycle.EXIT_STOPPED_WITHOUT_SIGNAL]
    (line,) = _events(capfd.readouterr().err)
    assert line["event"] == "shutdown overran its timeout: exiting without a clean shutdown"
    assert (line["level"], line["signal"], line["shutdown_timeout_s"]) == ("error", None, 0.01)


class _Watchdogs:
    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def __call__(self, _stop: StopEvent, timeout_s: float) -> _Watchdogs:
        self.timeouts.append(timeout_s)
        return self

    def start(self) -> _Watchdogs:
        return self


@pytest.mark.parametrize(("env", "watchdogs"), [(None, [20.0]), ("7.5", [7.5]), ("0", [])])
def test_stop_on_signals_takes_its_timeout_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, restore_signals: None, env: str | None, watchdogs: list[float]
) -> None:
    started = _Watchdogs()
    monkeypatch.setattr(lifecycle, "Watchdog", started)
    if env is None:
        monkeypatch.delenv("ENERGYMON_SHUTDOWN_TIMEOUT_S", raising=False)
    else:
        monkeypatch.setenv("ENERGYMON_SHUTDOWN_TIMEOUT_S", env)
    stop = stop_on_signals()
    assert started.timeouts == watchdogs
    assert signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT)
    signal.raise_signal(signal.SIGTERM)  # the handler installed for both
    assert stop.is_set()


def test_an_explicit_timeout_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, restore_signals: None
) -> None:
    started = _Watchdogs()
    monkeypatch.setattr(lifecycle, "Watchdog", started)
    monkeypatch.setenv("ENERGYMON_SHUTDOWN_TIMEOUT_S", "7.5")
    stop_on_signals(3.0)
    assert started.timeouts == [3.0]


def test_the_default_shutdown_timeout_ends_before_kubernetes_grace_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENERGYMON_SHUTDOWN_TIMEOUT_S", raising=False)
    assert 0 < CommonSettings().shutdown_timeout_s < 30
    monkeypatch.setenv("ENERGYMON_SHUTDOWN_TIMEOUT_S", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        CommonSettings()
