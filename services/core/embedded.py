"""Private PostgreSQL and Mosquitto instances for the demo and the tests.

``energymon demo`` on a machine where nothing is configured, and the test suite on a machine where
no service runs, start their own servers from the binaries installed here: PostgreSQL's
``initdb``/``pg_ctl`` (on the PATH, via ``pg_config``, or Debian's ``/usr/lib/postgresql/*/bin``)
and ``mosquitto``. A data directory may be kept between runs (the demo) or thrown away (tests).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import psycopg

from services.core import broker_config
from services.core.errors import EnergymonError


class ServiceUnavailableError(EnergymonError):
    """No server is configured, running or startable; the message says what to install."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll ``predicate()`` until it is truthy; TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        cand = Path(out.stdout.strip())
        if (cand / "initdb").exists():
            return cand
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None


def _run(cmd: list[str], *, what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        hint = ""
        if os.geteuid() == 0:
            hint = (
                " (running as root: the cluster runs as the 'postgres' user, which must be "
                "able to reach the data directory; choose one under a world-traversable path)"
            )
        raise ServiceUnavailableError(f"{what} failed: {' '.join(detail)}{hint}")


def _as_cluster_owner(data_dir: Path) -> list[str]:
    """The command prefix that runs a cluster's programs on ``data_dir``: none, or as root (which
    initdb and postgres refuse) the system's postgres user, given ``data_dir`` and a way to it."""
    if os.geteuid() != 0:
        return []
    import pwd

    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceUnavailableError(
            "a private PostgreSQL cannot run as root and there is no 'postgres' user"
        ) from None
    parent = data_dir.parent
    os.chmod(parent, parent.stat().st_mode | 0o011)  # postgres must reach its directory
    for path in (data_dir, *data_dir.rglob("*")):
        os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(data_dir, 0o700)
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Embedded:
    """Servers started by this process; :meth:`close` stops them (and removes temporary dirs)."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    temp_dirs: list[Path] = field(default_factory=list)
    pg_stops: list[list[str]] = field(default_factory=list)

    def close(self) -> None:
        for cmd in self.pg_stops:
            subprocess.run(cmd, check=False, capture_output=True)
        for proc in self.procs:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
        for d in self.temp_dirs:
            shutil.rmtree(d, ignore_errors=True)

    def start_postgres(self, data_dir: Path, *, fsync: bool = True, temporary: bool = False) -> str:
        """Start (initialising if needed) a cluster in ``data_dir``; returns a maintenance URL."""
        bindir = pg_bindir()
        if bindir is None:
            raise ServiceUnavailableError(
                "no PostgreSQL: set the database URL, start a server on 127.0.0.1:5432, or "
                "install the PostgreSQL server binaries (initdb, pg_ctl)"
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        if temporary:
            self.temp_dirs.append(data_dir)
        as_user = _as_cluster_owner(data_dir)
        if not (data_dir / "PG_VERSION").exists():
            _run(
                [
                    *as_user,
                    str(bindir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                ],
                what="initdb",
            )
        port = free_port()
        options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1"
        if not fsync:
            options += " -c fsync=off -c synchronous_commit=off"
        _run(
            [
                *as_user,
                str(bindir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(data_dir / "server.log"),
                "-w",
                "-o",
                options,
                "start",
            ],
            what="pg_ctl start",
        )
        self.pg_stops.append(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]
        )
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def start_standby(self, primary_url: str, data_dir: Path, *, temporary: bool = False) -> str:
        """Clone the running cluster at ``primary_url`` (a maintenance URL of a superuser, which
        may connect for replication as initdb's default pg_hba.conf allows from loopback) with
        ``pg_basebackup -R`` into ``data_dir`` and start it as its streaming standby on a free
        port; returns the standby's maintenance URL."""
        bindir = pg_bindir()
        # beside the server's programs (pg_ctl on the PATH may be a link to them)
        found = [
            d / "pg_basebackup"
            for d in ([bindir, (bindir / "pg_ctl").resolve().parent] if bindir else [])
            if (d / "pg_basebackup").exists()
        ]
        if not found:
            raise ServiceUnavailableError("no pg_basebackup beside pg_ctl: install the server")
        data_dir.mkdir(parents=True, exist_ok=True)
        if temporary:
            self.temp_dirs.append(data_dir)
        as_user = _as_cluster_owner(data_dir)
        parts = urlsplit(primary_url)
        _run(
            [
                *as_user,
                str(found[0]),
                "-D",
                str(data_dir),
                "-h",
                parts.hostname or "127.0.0.1",
                "-p",
                str(parts.port or 5432),
                "-U",
                parts.username or "postgres",
                "-X",
                "stream",
                "-c",
                "fast",
                "-R",  # standby.signal and primary_conninfo: start as this primary's standby
            ],
            what="pg_basebackup",
        )
        return self.start_postgres(data_dir, fsync=False)

    def start_mosquitto(
        self,
        work_dir: Path,
        extra_conf: str = "",
        *,
        temporary: bool = False,
        profile: Literal["demo", "test"] = "test",
        persistence: bool = False,
        auth: broker_config.ListenerAuth | None = None,
    ) -> int:
        """Start a Mosquitto on a free loopback port; returns the port.

        Its configuration is a profile of services/core/broker_config.py: ``demo`` (anonymous,
        persistent) or ``test`` (anonymous unless ``auth``; persistent if ``persistence``), with
        ``extra_conf`` appended (a later line overrides an earlier one). It persists under
        ``work_dir/data``."""
        port = free_port()
        data_dir = work_dir / "data"
        # As root Mosquitto drops to its own user, which can neither read private files here nor
        # write the persistence directory: stay root instead.
        as_root = os.geteuid() == 0
        if profile == "demo":
            broker = broker_config.for_demo(port, str(data_dir), run_as_root=as_root)
        else:
            broker = broker_config.for_tests(
                port,
                data_dir=str(data_dir) if persistence else None,
                auth=auth,
                run_as_root=as_root,
            )
        if broker.persistence_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        text = broker_config.render(broker)
        if extra_conf:
            text += extra_conf.rstrip("\n") + "\n"
        self.run_mosquitto(work_dir, text, [port], temporary=temporary)
        return port

    def run_mosquitto(
        self, work_dir: Path, conf_text: str, ports: list[int], *, temporary: bool = False
    ) -> subprocess.Popen[bytes]:
        """Run Mosquitto with ``conf_text`` (written to ``work_dir/mosquitto.conf``; its log goes
        to ``work_dir/mosquitto.log``) until every port in ``ports`` accepts connections."""
        binary = mosquitto_binary()
        if binary is None:
            raise ServiceUnavailableError(
                "no MQTT broker: set the MQTT URL, start one on 127.0.0.1:1883, or install "
                "mosquitto (an MQTT 5 broker, 2.0 or newer)"
            )
        work_dir.mkdir(parents=True, exist_ok=True)
        if temporary and work_dir not in self.temp_dirs:
            self.temp_dirs.append(work_dir)
        conf = work_dir / "mosquitto.conf"
        conf.write_text(conf_text, encoding="utf-8")
        log = work_dir / "mosquitto.log"
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                [binary, "-c", str(conf)], stdout=log_file, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)

        def listening() -> bool:
            if proc.poll() is not None:
                tail = " ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
                raise ServiceUnavailableError(f"mosquitto exited ({proc.returncode}): {tail}")
            return all(port_open("127.0.0.1", port) for port in ports)

        wait_for(listening, 10, f"mosquitto on ports {ports}")
        return proc
