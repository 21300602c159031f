"""The long-running commands as an operator starts them: ``energymon api --port`` serves there,
every service logs JSON lines only (uvicorn's included), a clean stop logs no warning, and each
process exposes only its own metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.settings import DatabaseSettings
from tests.support.cli import ENERGYMON
from tests.support.ingest import IngestProcess
from tests.support.services import free_port, wait_for


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as err:
        return int(err.code), ""
    except OSError:
        return 0, ""


def _json_lines(log: str) -> list[dict[str, object]]:
    """Every line of ``log`` as a JSON object; fails on a line that is not one."""
    lines = [line for line in log.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(
            [str(ENERGYMON), *args],
            env={**os.environ, **env},
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_api_port_flag_serves_there_and_logs_json_lines(
    db_settings: DatabaseSettings, tmp_path: Path, stopped_at_end: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    env = {"ENERGYMON_DATABASE_URL": db_settings.url, "ENERGYMON_API_PORT": str(free_port())}
    proc = _start(["api", "--port", str(port)], env, log)
    stopped_at_end.append(proc)
    wait_for(
        lambda: proc.poll() is not None or _get(f"http://127.0.0.1:{port}/readyz")[0] == 200,
        30,
        "the API on --port",
    )
    assert proc.poll() is None, log.read_text()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    records = _json_lines(log.read_text())
    assert any(r.get("logger") == "uvicorn.error" for r in records)
    assert [r for r in records if r["level"] not in {"info", "debug"}] == []


def test_a_clean_stop_of_mqtt_ingest_logs_no_warning(ingest: IngestProcess) -> None:
    wait_for(
        lambda: ingest.metric("energymon_ingest_mqtt_connected") == 1,
        30,
        "the MQTT session counted as connected",
    )
    assert ingest.stop() == 0
    records = _json_lines(ingest.log_path.read_text())
    assert records[-1]["event"] == "ingest mqtt stopped"
    assert [r for r in records if r["level"] not in {"info", "debug"}] == []


def test_the_modbus_poller_exposes_no_mqtt_metrics(
    db_settings: DatabaseSettings, tmp_path: Path, stopped_at_end: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = {
        "ENERGYMON_DATABASE_URL": db_settings.url,
        "ENERGYMON_MODBUS_METRICS_PORT": str(port),
        "ENERGYMON_MODBUS_SPOOL_DIR": str(tmp_path / "spool"),
    }
    log = tmp_path / "modbus.log"
    proc = _start(["ingest", "modbus"], env, log)
    stopped_at_end.append(proc)
    metrics = f"http://127.0.0.1:{port}/metrics"
    wait_for(lambda: proc.poll() is not None or _get(metrics)[0] == 200, 30, "poller /metrics")
    assert proc.poll() is None, log.read_text()
    text = _get(metrics)[1]
    assert "energymon_ingest_modbus_" in text
    assert "energymon_ingest_mqtt" not in text
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert [r for r in _json_lines(log.read_text()) if r["level"] not in {"info", "debug"}] == []
