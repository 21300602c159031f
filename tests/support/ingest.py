"""Run ``energymon ingest mqtt`` as a real subprocess and talk to it like a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from services.core.settings import DatabaseSettings, MqttSettings
from tests.support.services import free_port, wait_for


@dataclass
class IngestProcess:
    proc: subprocess.Popen[bytes]
    metrics_port: int
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url(path), timeout=2) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)
        except OSError:
            return 0

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as resp:
            return str(resp.read().decode())

    def metric(self, name: str, labels: str = "") -> float:
        """Sum of the samples of ``name`` whose label text contains ``labels``."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head.split("{")[0] == name and labels in head:
                    total += float(value)
        return total

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ingest exited with {self.proc.returncode}:\n{self.log()}")
            return self.status("/readyz") == 200

        wait_for(ready, timeout, "ingest /readyz")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)


def start_service(
    args: list[str], env: dict[str, str], workdir: Path, name: str, metrics_port: int
) -> IngestProcess:
    """Run ``energymon ARGS`` as a subprocess with ``env`` added, logging to a file."""
    log_path = workdir / f"{name}.log"
    fh = log_path.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **env},
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    fh.close()
    return IngestProcess(proc, metrics_port, log_path)


def start_ingest(
    db: DatabaseSettings,
    mqtt: MqttSettings,
    workdir: Path,
    *,
    client_id: str = "ingest-1",
    extra_env: dict[str, str] | None = None,
) -> IngestProcess:
    port = free_port()
    env = {
        "ENERGYMON_DATABASE_URL": db.url,
        "ENERGYMON_DATABASE_TIMESCALE": "off",
        "ENERGYMON_MQTT_URL": mqtt.url,
        "ENERGYMON_MQTT_TOPIC_ROOT": mqtt.topic_root,
        # one session per partition, shared by every replica of this test (its topic root)
        "ENERGYMON_INGEST_CLIENT_ID": f"{mqtt.topic_root}-ingest",
        "ENERGYMON_INGEST_REPLICA_ID": client_id,
        "ENERGYMON_INGEST_SPOOL_DIR": str(workdir / f"spool-{client_id}"),
        "ENERGYMON_INGEST_METRICS_PORT": str(port),
        "ENERGYMON_INGEST_SESSION_EXPIRY_S": "600",
        "ENERGYMON_LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    return start_service(["ingest", "mqtt"], env, workdir, f"ingest-{client_id}", port)
