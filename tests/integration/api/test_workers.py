"""`energymon api` with ENERGYMON_API_WORKERS=2: two processes share the port, and /metrics
counts the requests of both."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest

from services.core.settings import DatabaseSettings
from tests.support.ingest import start_service
from tests.support.services import free_port, wait_for


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(c) for c in text.split()}


@pytest.mark.timeout(120)
def test_two_worker_processes_serve_one_port_and_sum_their_metrics(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    port = free_port()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        "ENERGYMON_DATABASE_URL": db_settings.url,
        "ENERGYMON_DATABASE_TIMESCALE": "off",
        "ENERGYMON_API_PORT": str(port),
        "ENERGYMON_API_WORKERS": "2",
        "TMPDIR": str(scratch),  # where the workers' shared metrics directory goes
    }
    api = start_service(["api"], env, tmp_path, "api", port)
    try:
        wait_for(lambda: api.status("/readyz") == 200, 60, "the API to be ready")
        wait_for(lambda: len(_children(api.proc.pid)) >= 2, 30, "two worker processes")
        workers = _children(api.proc.pid)
        (shared,) = scratch.glob("energymon-api-metrics-*")

        def writers() -> set[int]:  # the processes whose samples are in the shared directory
            return {int(p.stem.rsplit("_", 1)[1]) for p in shared.glob("*.db")}

        # each request on a new connection, until the kernel has handed some to both workers
        sent = 0
        while len(writers()) < 2 and sent < 2000:
            with urllib.request.urlopen(api.url("/healthz"), timeout=5) as resp:
                assert resp.status == 200
            sent += 1
        assert len(writers()) == 2
        assert writers() <= workers  # the other child is multiprocessing's tracker
        assert api.metric("energymon_api_requests_total", 'route="/healthz"') == sent
        assert api.metric("energymon_api_request_seconds_count", 'route="/healthz"') == sent
    finally:
        api.proc.send_signal(signal.SIGTERM)
        assert api.proc.wait(30) == 0
    assert list(scratch.iterdir()) == []  # the shared directory goes with the process
