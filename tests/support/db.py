"""Test databases: one migrated template per run, a fresh copy per test that needs one."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import psycopg

from services.core.db import make_engine
from services.core.schema.migrate import upgrade
from services.core.settings import DatabaseSettings


def with_database(server_url: str, name: str) -> str:
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def _admin(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server_url, autocommit=True)


def create_template(server_url: str) -> str:
    """Create and migrate a template database; returns its name."""
    name = f"energymon_tpl_{uuid.uuid4().hex[:10]}"
    create_migrated(server_url, name)
    return name


def exists(server_url: str, name: str) -> bool:
    with _admin(server_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def create_migrated(server_url: str, name: str) -> None:
    """Create the database NAME and migrate it (benchmarks keep theirs under a chosen name)."""
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    settings = DatabaseSettings(url=with_database(server_url, name), timescale="off")
    engine = make_engine(settings)
    upgrade(engine, settings)
    engine.dispose()


def clone(server_url: str, template: str) -> str:
    name = f"energymon_t_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop(server_url: str, name: str) -> None:
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
