"""Shared fixtures. Databases: ``db_settings`` is a fresh, migrated database per test (cloned from
a template migrated once per run). Broker: ``mqtt_settings`` gives each test its own topic root on
the shared broker, so tests never see each other's messages or sessions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog

from services.core.settings import DatabaseSettings, MqttSettings
from tests.support import db as dbs
from tests.support.services import Private, ServiceUnavailableError, resolve_mqtt, resolve_postgres


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a ``slow`` test come first. The tests run a file per worker at a time, in
    this order (scripts/test turns off xdist's reordering by test count, which put the
    one-test demo file last): a long file started last keeps the run waiting on one worker
    while the others are idle. The sort is stable, so files keep their order otherwise."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """A command run in this process (``services.cli.main``) configures logging onto the
    test's captured stderr, which pytest closes after the test: every later log line of a
    thread in this worker would then fail. Each test leaves logging as it found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quieted = {
        name: logging.getLogger(name).level
        for name in ("pymodbus", "alembic", "apscheduler", "uvicorn.access")
    }
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in quieted.items():
        logging.getLogger(name).setLevel(was)
    structlog.configure(**config)


@pytest.fixture(scope="session")
def private_services() -> Iterator[Private]:
    private = Private()
    yield private
    private.close()


@pytest.fixture(scope="session")
def pg_server(private_services: Private) -> str:
    try:
        return resolve_postgres(private_services)
    except ServiceUnavailableError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def mqtt_url(private_services: Private) -> str:
    try:
        return resolve_mqtt(private_services)
    except ServiceUnavailableError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> Iterator[str]:
    name = dbs.create_template(pg_server)
    yield name
    dbs.drop(pg_server, name)


@pytest.fixture
def db_settings(pg_server: str, template_db: str) -> Iterator[DatabaseSettings]:
    name = dbs.clone(pg_server, template_db)
    yield DatabaseSettings(url=dbs.with_database(pg_server, name), timescale="off")
    dbs.drop(pg_server, name)


@pytest.fixture
def mqtt_settings(mqtt_url: str) -> MqttSettings:
    return MqttSettings(url=mqtt_url, topic_root=f"t{uuid.uuid4().hex[:10]}")
