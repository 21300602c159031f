"""The lag the accounting service exports: as last looked at, ageing in between; a failed look
keeps the last one."""

from __future__ import annotations

import threading

from services.accounting.lag import LagProbe


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def test_the_lag_grows_between_looks_while_data_was_pending() -> None:
    clock, pending = Clock(), [12.0]
    probe = LagProbe(lambda: pending[0], clock=clock)
    assert probe.lag_s() == 0.0  # before the first look
    probe.look()
    clock.t += 5
    assert probe.lag_s() == 17.0
    pending[0] = None  # rolled up
    probe.look()
    clock.t += 30
    assert probe.lag_s() == 0.0  # nothing was pending: 0 until the next look


def test_a_failed_look_keeps_the_last_one_ageing() -> None:
    clock, calls = Clock(), []

    def read() -> float | None:
        calls.append(clock.t)
        if len(calls) > 1:
            raise OSError("database unreachable")
        return 3.0

    probe = LagProbe(read, clock=clock)

    class Ticks(threading.Event):
        """``stop.wait`` of the look loop: advance the clock, stop after three looks."""

        def wait(self, timeout: float | None = None) -> bool:
            clock.t += timeout or 0
            return len(calls) >= 3

    probe.run(Ticks(), every_s=10.0)
    assert len(calls) == 3
    assert probe.lag_s() == 3.0 + 30.0
