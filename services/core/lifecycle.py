"""Process lifecycle: how every long-running command stops.

SIGTERM or SIGINT sets a :class:`StopEvent`; the command sees it in ``stop.wait()`` and shuts down
cleanly. A second signal ends the process at once (exit code 128 + the signal's number), and a
watchdog thread ends it if the clean shutdown takes longer than ``ENERGYMON_SHUTDOWN_TIMEOUT_S``:
a process always exits within a known time of the first SIGTERM, before an orchestrator's grace
period runs out and SIGKILL skips the clean part (Kubernetes waits 30 s by default).

Nothing on the signal path takes a lock. Python runs a signal handler in the main thread between
two bytecodes, possibly while that thread holds the very lock the handler would take: a
``threading.Event``'s condition inside the event's own ``wait()`` (the process then never exits),
the stderr writer, structlog's print lock. So the handler sets a plain flag, writes a byte to a
pipe that waiters poll, and logs through a logger that writes each line with one ``write(2)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import select
import signal
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

import structlog

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
EXIT_STOPPED_WITHOUT_SIGNAL = 1  # the watchdog's exit code when ``set()`` (not a signal) stopped
STDERR_WAIT_MS = 500  # the longest a line from the exit path waits for stderr to take it


class _StderrLines:
    """A structlog logger writing each line to stderr with ``os.write``, for the signal handler
    and the watchdog: unlike ``PrintLogger`` it takes no lock, and it never blocks for long.

    The line starts with a newline: a handler runs wherever the main thread was, possibly between
    the two writes of one of its own lines (``print`` writes the text, then the newline); both
    lines then stay whole, at the cost of an empty line. A stderr that stays full (a stalled log
    reader) drops the line rather than hold up the exit."""

    def msg(self, message: str) -> None:
        data = ("\n" + message + "\n").encode("utf-8", "replace")
        poller = select.poll()
        poller.register(2, select.POLLOUT)
        with contextlib.suppress(OSError):
            while data and poller.poll(STDERR_WAIT_MS):
                data = data[os.write(2, data) :]

    debug = info = warning = error = critical = msg


def _log() -> Any:
    """A logger with the process's configured processors, level and format, lock-free output."""
    return structlog.wrap_logger(_StderrLines())


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class StopEvent(threading.Event):
    """A ``threading.Event`` whose ``set()`` takes no lock, so a signal handler may call it.

    The flag is a plain attribute; ``set()`` also writes a byte to a pipe, and ``wait()`` polls
    the pipe's read end. The byte stays in the pipe, so every waiter, present and future, wakes.
    :meth:`fileno` is that read end, for an event loop's ``add_reader``. ``signum`` is the signal
    that set the event, when one did.
    """

    _flag: bool  # threading.Event's own flag, here a plain attribute read and written lock-free

    def __init__(self) -> None:
        super().__init__()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        # closed once unreachable, never at interpreter exit: a daemon thread may still wait
        weakref.finalize(self, _close_fds, self._read_fd, self._write_fd).atexit = False
        self.signum: int | None = None

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        with contextlib.suppress(BlockingIOError):  # a full pipe wakes waiters just as well
            os.write(self._write_fd, b"\0")

    def clear(self) -> None:
        """Reset the flag; not meant to race a concurrent ``set()``."""
        self._flag = False
        self._drain()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the event is set or ``timeout`` seconds pass; returns the flag."""
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        while not self._flag:
            remaining_ms = None
            if deadline is not None:
                remaining_ms = (deadline - time.monotonic()) * 1000
                if remaining_ms <= 0:
                    break
            if poller.poll(remaining_ms) and not self._flag:
                self._drain()  # a byte left over from before a clear(): do not spin on it
        return self._flag

    def fileno(self) -> int:
        """A descriptor that is readable once the event is set."""
        return self._read_fd

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read_fd, 4096):
                pass


def handle_signals(
    stop: StopEvent,
    *,
    timeout_s: float = 0,
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
    exit_process: Callable[[int], object] = os._exit,
) -> None:
    """Install handlers (from the main thread): the first of ``signals`` sets ``stop``, the next
    one calls ``exit_process(128 + signal number)`` after one log line."""
    # next() on a C iterator is one step for the interpreter: a handler that runs nested inside
    # this one (a signal landing while it runs) still gets a number of its own
    calls = itertools.count(1)

    def handler(signum: int, _frame: FrameType | None) -> None:
        if next(calls) == 1:
            stop.signum = signum
            stop.set()
            _log().info(
                "stop requested",
                signal=signal.Signals(signum).name,
                shutdown_timeout_s=timeout_s,
            )
            return
        _log().warning(
            "second signal: exiting without a clean shutdown",
            signal=signal.Signals(signum).name,
            exit_code=128 + signum,
        )
        exit_process(128 + signum)

    for signum in signals:
        signal.signal(signum, handler)


class Watchdog:
    """Ends the process when it is still running ``timeout_s`` after ``stop`` was set.

    Started with the process, not from a signal handler; it logs and exits without taking a lock,
    so threads wedged on one cannot hold it up."""

    def __init__(
        self,
        stop: StopEvent,
        timeout_s: float,
        *,
        exit_process: Callable[[int], object] = os._exit,
    ) -> None:
        self.stop = stop
        self.timeout_s = timeout_s
        self._exit_process = exit_process
        self.thread = threading.Thread(target=self._run, name="shutdown-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self.thread.start()
        return self

    def _run(self) -> None:
        self.stop.wait()
        time.sleep(self.timeout_s)
        signum = self.stop.signum
        code = EXIT_STOPPED_WITHOUT_SIGNAL if signum is None else 128 + signum
        _log().error(
            "shutdown overran its timeout: exiting without a clean shutdown",
            signal=None if signum is None else signal.Signals(signum).name,
            shutdown_timeout_s=self.timeout_s,
            exit_code=code,
        )
        self._exit_process(code)


def stop_on_signals(timeout_s: float | None = None) -> StopEvent:
    """The stop event of a long-running command; call from the main thread at start-up.

    SIGINT or SIGTERM sets it; a second signal exits at once; the process exits ``timeout_s``
    after the event is set even if its shutdown is not done (0 = no bound; default
    ``ENERGYMON_SHUTDOWN_TIMEOUT_S``)."""
    if timeout_s is None:
        from services.core.settings import CommonSettings

        timeout_s = CommonSettings().shutdown_timeout_s
    stop = StopEvent()
    handle_signals(stop, timeout_s=timeout_s)
    if timeout_s > 0:
        Watchdog(stop, timeout_s).start()
    return stop


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on uvloop where it is installed (Linux and macOS), else on
    asyncio's own loop. uvloop roughly halves the event loop's share of a Modbus poll."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it builds
        return asyncio.run(main)
    return uvloop.run(main)
