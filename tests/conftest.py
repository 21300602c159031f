"""Shared fixtures. Databases: ``db_settings`` is a fresh, migrated database per test (cloned from
a template migrated once per run). Broker: ``mqtt_settings`` gives each test its own topic root on
the shared broker, so tests never see each other's messages or sessions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from services.core.settings import DatabaseSettings, MqttSettings
from tests.support import db as dbs
from tests.support.services import Private, ServiceUnavailableError, resolve_mqtt, resolve_postgres


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
