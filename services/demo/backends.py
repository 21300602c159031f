"""Which PostgreSQL and MQTT broker the demo uses: the configured ones, else the local ones on
their standard ports when they answer, else embedded ones started from this machine's binaries
with their data under the demo's data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.core.db import ensure_database
from services.core.embedded import Embedded, port_open, postgres_answers

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "energymon_demo"


@dataclass(frozen=True)
class Backends:
    db_url: str
    mqtt_url: str
    db_origin: str  # where the database came from, in words
    mqtt_origin: str


def resolve_backends(data_dir: Path, embedded: Embedded, *, force_embedded: bool) -> Backends:
    db_url, db_origin = _database(data_dir, embedded, force_embedded=force_embedded)
    mqtt_url, mqtt_origin = _broker(data_dir, embedded, force_embedded=force_embedded)
    return Backends(db_url, mqtt_url, db_origin, mqtt_origin)


def _database(data_dir: Path, embedded: Embedded, *, force_embedded: bool) -> tuple[str, str]:
    configured = None if force_embedded else os.environ.get("ENERGYMON_DATABASE_URL")
    if configured:
        return configured, "configured (ENERGYMON_DATABASE_URL)"
    if not force_embedded and postgres_answers(f"{LOCAL_POSTGRES}/postgres"):
        url, origin = f"{LOCAL_POSTGRES}/{DATABASE}", "local PostgreSQL on 127.0.0.1:5432"
    else:
        server = embedded.start_postgres(data_dir / "postgres")
        url = f"{server.rsplit('/', 1)[0]}/{DATABASE}"
        origin = f"embedded PostgreSQL in {data_dir / 'postgres'}"
    ensure_database(url)
    return url, origin


def _broker(data_dir: Path, embedded: Embedded, *, force_embedded: bool) -> tuple[str, str]:
    configured = None if force_embedded else os.environ.get("ENERGYMON_MQTT_URL")
    if configured:
        return configured, "configured (ENERGYMON_MQTT_URL)"
    if not force_embedded and port_open("127.0.0.1", 1883):
        return "mqtt://127.0.0.1:1883", "local Mosquitto on 127.0.0.1:1883"
    port = embedded.start_mosquitto(data_dir / "mosquitto", profile="demo")
    return f"mqtt://127.0.0.1:{port}", f"embedded Mosquitto on :{port}"
