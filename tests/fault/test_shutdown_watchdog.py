"""A clean shutdown that cannot finish (work stuck on a database lock that is never released)
still ends ENERGYMON_SHUTDOWN_TIMEOUT_S after SIGTERM: the watchdog exits with 143 and one
structured log line; the API's graceful wait is bounded by the same setting."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from services.core.settings import DatabaseSettings
from tests.fault.processes import (
    KILLED_BY_SIGTERM,
    SIGTERM_EXIT,
    Command,
    Running,
    http_ok,
    launch,
    sigterm_caught,
)
from tests.support.services import free_port, wait_for

TIMEOUT_S = 2.0
SLACK_S = 5.0


@contextmanager
def locked(db: DatabaseSettings, table: str) -> Iterator[None]:
    """``table`` locked against every other session (reads too) until the block ends."""
    with psycopg.connect(db.libpq_url) as conn:
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield


def _waiting_on_a_lock(db: DatabaseSettings) -> bool:
    # a connection of its own: inside the locking transaction pg_stat_activity would be read once
    with psycopg.connect(db.libpq_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def _env(db: DatabaseSettings, **extra: str) -> dict[str, str]:
    return {
        "ENERGYMON_DATABASE_URL": db.url,
        "ENERGYMON_DATABASE_TIMESCALE": "off",
        "ENERGYMON_SHUTDOWN_TIMEOUT_S": str(TIMEOUT_S),
        "ENERGYMON_LOG_FORMAT": "json",
        **extra,
    }


def _stop_stuck(running: Running, db: DatabaseSettings) -> int | None:
    """SIGTERM once its work waits on the lock; the exit code, or None when still running."""
    try:
        wait_for(lambda: _waiting_on_a_lock(db), 30, "work blocked on the lock")
        running.proc.send_signal(signal.SIGTERM)
        return running.wait_exit(TIMEOUT_S + SLACK_S)
    finally:
        running.kill()


def _overran_line(log: str) -> dict[str, object]:
    events: list[dict[str, object]] = [
        json.loads(line) for line in log.splitlines() if line.startswith("{")
    ]
    overran = [e for e in events if str(e["event"]).startswith("shutdown overran")]
    assert len(overran) == 1, log
    return overran[0]


def test_alerts_stuck_in_a_job_at_shutdown_exit_when_the_timeout_runs_out(
    district: DatabaseSettings, tmp_path: Path
) -> None:
    """Every rule family's job reads ``alerts`` first and waits on it; the scheduler's shutdown
    waits for the jobs."""
    port = free_port()
    command = Command(
        ["alerts", "run"],
        _env(district, ENERGYMON_ALERTS_METRICS_PORT=str(port)),
        lambda _r: http_ok(f"http://127.0.0.1:{port}/readyz"),
    )
    with locked(district, "alerts"):
        running = launch(command, tmp_path / "alerts.log")
        running.wait_ready(command.ready)
        code = _stop_stuck(running, district)
    log = running.log()
    assert code == SIGTERM_EXIT, log
    line = _overran_line(log)
    assert line["signal"] == "SIGTERM"
    assert line["exit_code"] == SIGTERM_EXIT
    assert line["shutdown_timeout_s"] == TIMEOUT_S
    assert "Traceback" not in log


def test_accounting_stuck_in_a_pass_at_shutdown_exits_when_the_timeout_runs_out(
    district: DatabaseSettings, tmp_path: Path
) -> None:
    """The main thread itself is in the database call when the signal lands."""
    port = free_port()
    command = Command(
        ["accounting", "run", "--every", "1"],
        _env(district, ENERGYMON_ACCOUNTING_METRICS_PORT=str(port)),
        lambda r: sigterm_caught(r.pid),
    )
    with locked(district, "rollup_dirty"):
        running = launch(command, tmp_path / "accounting.log")
        running.wait_ready(command.ready)
        code = _stop_stuck(running, district)
    log = running.log()
    assert code == SIGTERM_EXIT, log
    assert _overran_line(log)["exit_code"] == SIGTERM_EXIT


def test_the_api_stops_waiting_for_a_stuck_request_when_the_timeout_runs_out(
    district: DatabaseSettings, tmp_path: Path
) -> None:
    """/readyz reads ``alembic_version``: locked, the request hangs, and uvicorn would wait for
    it without end (a second SIGTERM does not force uvicorn out; only a second SIGINT does)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    env = _env(district, ENERGYMON_API_PORT=str(port))
    command = Command(["api"], env, lambda _r: http_ok(url))
    running = launch(command, tmp_path / "api.log")
    running.wait_ready(command.ready)
    with locked(district, "alembic_version"):

        def request() -> None:
            with contextlib.suppress(OSError):  # cut off by the shutdown, as expected
                urllib.request.urlopen(url, timeout=30).close()

        threading.Thread(target=request, daemon=True).start()
        code = _stop_stuck(running, district)
    assert code == KILLED_BY_SIGTERM, running.log()
