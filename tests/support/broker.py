"""A private Mosquitto that a test can stop (SIGTERM or SIGKILL) and start again on the same port
with the same persistence directory, configured like every broker the project ships."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from services.core import broker_config
from services.core.embedded import mosquitto_binary, port_open
from tests.support.services import free_port, wait_for


class Broker:
    def __init__(self, work_dir: Path) -> None:
        self.port = free_port()
        self.work_dir = work_dir
        data = work_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        conf = broker_config.for_tests(self.port, data_dir=str(data), run_as_root=os.geteuid() == 0)
        self.conf = work_dir / "mosquitto.conf"
        self.conf.write_text(broker_config.render(conf), encoding="utf-8")
        self.log = work_dir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = mosquitto_binary()
        assert binary is not None, "mosquitto is not installed"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(lambda: port_open("127.0.0.1", self.port), 10, "the private broker")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        self.proc.wait(30)

    def restart(self, sig: signal.Signals) -> None:
        self.stop(sig)
        self.restarts += 1
        self.start()

    def close(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.stop(signal.SIGTERM)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
