"""Find the PostgreSQL and MQTT broker the tests use, or start private ones.

Order: ``ENERGYMON_TEST_DATABASE_URL`` / ``ENERGYMON_TEST_MQTT_URL`` when set; otherwise the local
services on their standard ports when they answer; otherwise private instances started from the
binaries on this machine (``initdb``/``postgres``, ``mosquitto``) in a temporary directory on free
ports. When none of these works the run fails with a message saying what to install — integration
tests are never skipped silently.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg


class ServiceUnavailableError(RuntimeError):
    pass


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


def wait_for(predicate: object, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate()`` until true; raise with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Private:
    """Processes and directories of private services, cleaned up at the end of the run."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    pg_stop: list[list[str]] = field(default_factory=list)

    def close(self) -> None:
        for cmd in self.pg_stop:
            subprocess.run(cmd, check=False, capture_output=True)
        for proc in self.procs:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def _pg_bindir() -> Path | None:
    if shutil.which("pg_ctl"):
        return Path(shutil.which("pg_ctl") or "").parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        cand = Path(out.stdout.strip())
        if (cand / "initdb").exists():
            return cand
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _pg_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def resolve_postgres(private: Private) -> str:
    """A libpq URL of a server where the tests may create databases (path = maintenance db)."""
    url = os.environ.get("ENERGYMON_TEST_DATABASE_URL")
    if url:
        if not _pg_answers(url):
            raise ServiceUnavailableError(f"ENERGYMON_TEST_DATABASE_URL={url} does not answer")
        return url
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _pg_answers(local):
        return local
    bindir = _pg_bindir()
    if bindir is None:
        raise ServiceUnavailableError(
            "no PostgreSQL: set ENERGYMON_TEST_DATABASE_URL, start one on 127.0.0.1:5432, or "
            "install the PostgreSQL server binaries (initdb, pg_ctl) so a private one can start"
        )
    data = tempfile.mkdtemp(prefix="energymon-pg-")
    private.dirs.append(data)
    as_user: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses root: run the private cluster as the system's postgres user.
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise ServiceUnavailableError(
                "a private PostgreSQL cannot run as root and there is no 'postgres' user; "
                "provide ENERGYMON_TEST_DATABASE_URL"
            ) from None
        os.chown(data, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", data, "-U", "postgres", "-A", "trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            data,
            "-l",
            f"{data}/log",
            "-w",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    private.pg_stop.append(
        [*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]
    )
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def start_mosquitto(private: Private, extra_conf: str = "", port: int | None = None) -> int:
    """Start a private Mosquitto on a free loopback port with ``extra_conf``; return the port."""
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if binary is None:
        raise ServiceUnavailableError(
            "no MQTT broker: set ENERGYMON_TEST_MQTT_URL, start one on 127.0.0.1:1883, or install "
            "mosquitto (an MQTT 5 broker with shared subscriptions is required)"
        )
    port = port or free_port()
    d = tempfile.mkdtemp(prefix="energymon-mqtt-")
    private.dirs.append(d)
    conf = Path(d) / "mosquitto.conf"
    anonymous = "" if "allow_anonymous" in extra_conf else "allow_anonymous true\n"
    if os.geteuid() == 0:
        # As root Mosquitto drops to its own user, which cannot read the test's private files.
        anonymous += "user root\n"
    conf.write_text(
        f"listener {port} 127.0.0.1\n{anonymous}persistence false\n{extra_conf}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    private.procs.append(proc)
    wait_for(lambda: port_open("127.0.0.1", port), 10, f"mosquitto on port {port}")
    return port


def resolve_mqtt(private: Private) -> str:
    url = os.environ.get("ENERGYMON_TEST_MQTT_URL")
    if url:
        parts = urlsplit(url)
        if not port_open(parts.hostname or "127.0.0.1", parts.port or 1883):
            raise ServiceUnavailableError(f"ENERGYMON_TEST_MQTT_URL={url} does not answer")
        return url
    if port_open("127.0.0.1", 1883):
        return "mqtt://127.0.0.1:1883"
    return f"mqtt://127.0.0.1:{start_mosquitto(private)}"
