"""Find the PostgreSQL and MQTT broker the tests use, or start private ones.

Order: ``ENERGYMON_TEST_DATABASE_URL`` / ``ENERGYMON_TEST_MQTT_URL`` when set; otherwise the local
services on their standard ports when they answer; otherwise private instances started from the
binaries on this machine (services/core/embedded.py) in a temporary directory on free ports. When
none of these works the run fails with a message saying what to install — integration tests are
never skipped silently.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from services.core.broker_config import ListenerAuth
from services.core.embedded import (
    Embedded,
    ServiceUnavailableError,
    free_port,
    port_open,
    postgres_answers,
    wait_for,
)

__all__ = [
    "Private",
    "ServiceUnavailableError",
    "free_port",
    "port_open",
    "resolve_mqtt",
    "resolve_postgres",
    "start_mosquitto",
    "wait_for",
]

Private = Embedded


def _force_private() -> bool:
    """ENERGYMON_TEST_SERVICES=private ignores running local services (checks a fresh machine)."""
    return os.environ.get("ENERGYMON_TEST_SERVICES") == "private"


def resolve_postgres(private: Private) -> str:
    """A libpq URL of a server where the tests may create databases (path = maintenance db)."""
    url = os.environ.get("ENERGYMON_TEST_DATABASE_URL")
    if url:
        if not postgres_answers(url):
            raise ServiceUnavailableError(f"ENERGYMON_TEST_DATABASE_URL={url} does not answer")
        return url
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not _force_private() and postgres_answers(local):
        return local
    parent = Path(tempfile.mkdtemp(prefix="energymon-pg-"))
    private.temp_dirs.append(parent)
    return private.start_postgres(parent / "data", fsync=False)


def start_mosquitto(
    private: Private,
    extra_conf: str = "",
    *,
    persistence: bool = False,
    auth: ListenerAuth | None = None,
) -> int:
    """A private broker of the ``test`` profile (services/core/broker_config.py) in a temporary
    directory: anonymous unless ``auth``; persistent under ``<dir>/data`` if ``persistence``."""
    return private.start_mosquitto(
        Path(tempfile.mkdtemp(prefix="energymon-mqtt-")),
        extra_conf,
        temporary=True,
        persistence=persistence,
        auth=auth,
    )


def resolve_mqtt(private: Private) -> str:
    url = os.environ.get("ENERGYMON_TEST_MQTT_URL")
    if url:
        parts = urlsplit(url)
        if not port_open(parts.hostname or "127.0.0.1", parts.port or 1883):
            raise ServiceUnavailableError(f"ENERGYMON_TEST_MQTT_URL={url} does not answer")
        return url
    if not _force_private() and port_open("127.0.0.1", 1883):
        return "mqtt://127.0.0.1:1883"
    return f"mqtt://127.0.0.1:{start_mosquitto(private)}"
