"""The shipped broker configuration (deploy/mosquitto/mosquitto.conf) run by a real Mosquitto on
loopback: its two listeners on free ports, credentials generated from a provisioned registry by
``energymon mqtt credentials``, a private CA for the TLS gateway listener. As in the container,
Mosquitto started as root runs as the user ``mosquitto``, which owns its files."""

from __future__ import annotations

import csv
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.core.settings import DatabaseSettings, MqttSettings
from tests.integration.broker.probe import Probe
from tests.support.cli import run_cli
from tests.support.deploy import DEPLOY
from tests.support.services import Private, free_port

SHIPPED_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
INGEST_USER = "energymon-ingest"
INGEST_CLIENT_ID = "energymon-ingest-p0"  # ingest's first partition (services/ingest/mqtt)
TOPICS = MqttSettings(topic_root="energymon")


def make_certs(d: Path) -> None:
    """A private CA and a server certificate for 127.0.0.1, as docs/deploy.md shows."""
    d.mkdir()

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=energymon CA",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip


def local_conf(text: str, home: Path, internal_port: int, gateway_port: int) -> str:
    """The shipped configuration with its container paths and ports made local; nothing else."""
    replacements = {
        "listener 1883\n": f"listener {internal_port} 127.0.0.1\n",
        "listener 8883\n": f"listener {gateway_port} 127.0.0.1\n",
        "/mosquitto/auth/": f"{home}/auth/",
        "/mosquitto/certs/": f"{home}/certs/",
        "/mosquitto/data/": f"{home}/data/",
    }
    for old, new in replacements.items():
        assert old in text, f"the shipped configuration no longer has {old!r}"
        text = text.replace(old, new)
    return text


def hand_to_broker_user(*paths: Path) -> None:
    """As root, Mosquitto switches to the user ``mosquitto`` (as in the container, where the
    compose file chowns its files to it): it must own what it reads and where it persists."""
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam("mosquitto")
    except KeyError:
        user = pwd.getpwnam("nobody")
    for top in paths:
        for path in (top, *top.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid)


@dataclass
class DeployBroker:
    private: Private
    home: Path
    internal_port: int
    gateway_port: int
    creds: dict[str, str]
    conf_text: str

    @property
    def ca(self) -> Path:
        return self.home / "certs" / "ca.crt"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def gateway(
        self, enterprise: str, gateway: str, *, client_id: str = "", clean_start: bool = True
    ) -> Probe:
        """A gateway's client on the TLS gateway listener, not yet connected."""
        user = f"{enterprise}.{gateway}"
        return Probe(
            self.gateway_port,
            username=user,
            password=self.creds[user],
            client_id=client_id,
            ca=self.ca,
            clean_start=clean_start,
        )

    def ingest(self) -> Probe:
        """Stands in for ingest: its account and client id on the internal listener, a persistent
        session (clean start off, an hour's expiry), not yet connected."""
        return Probe(
            self.internal_port,
            username=INGEST_USER,
            password=self.creds[INGEST_USER],
            client_id=INGEST_CLIENT_ID,
            clean_start=False,
            session_expiry_s=3600,
        )

    def start(self) -> None:
        self.private.run_mosquitto(
            self.home / "run", self.conf_text, [self.internal_port, self.gateway_port]
        )

    def stop(self) -> None:
        """SIGTERM, as `docker compose stop` sends: Mosquitto saves its database and exits."""
        proc = self.private.procs[-1]
        proc.terminate()
        assert proc.wait(30) == 0


@pytest.fixture
def deploy_broker(small_district: DatabaseSettings) -> Iterator[DeployBroker]:
    with running_deploy_broker(small_district) as broker:
        yield broker


@contextmanager
def running_deploy_broker(small_district: DatabaseSettings) -> Iterator[DeployBroker]:
    """The shipped broker with credentials generated from ``small_district``'s registry."""
    home = Path(tempfile.mkdtemp(prefix="energymon-broker-"))
    os.chmod(home, 0o711)  # the broker's user must reach its files
    private = Private()
    try:
        env = {
            "ENERGYMON_DATABASE_URL": small_district.url,
            "ENERGYMON_MQTT_URL": "mqtt://127.0.0.1:1883",
            "ENERGYMON_MQTT_TOPIC_ROOT": "energymon",
        }
        result = run_cli("mqtt", "credentials", "--out", str(home / "auth"), env=env)
        assert result.returncode == 0, result.stderr
        assert "3 gateways, 4 new accounts" in result.stdout
        names = sorted(p.name for p in (home / "auth").iterdir())
        assert names == [
            "credentials.csv", "gateways.acl", "gateways.passwd", "internal.acl", "internal.passwd",
        ]  # fmt: skip
        for path in (home / "auth").iterdir():
            assert oct(path.stat().st_mode & 0o777) == "0o600", path.name
        with (home / "auth" / "credentials.csv").open() as fh:
            creds = {row["username"]: row["password"] for row in csv.DictReader(fh)}
        make_certs(home / "certs")
        (home / "data").mkdir()
        hand_to_broker_user(home / "auth", home / "certs", home / "data")
        internal_port, gateway_port = free_port(), free_port()
        broker = DeployBroker(
            private,
            home,
            internal_port,
            gateway_port,
            creds,
            local_conf(SHIPPED_CONF.read_text(), home, internal_port, gateway_port),
        )
        broker.start()
        yield broker
    finally:
        private.close()
        shutil.rmtree(home, ignore_errors=True)
