from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings, MqttSettings
from tests.support.ingest import IngestProcess, start_ingest
from tests.support.mqtt import Publisher
from tests.support.pty import pty_pair  # noqa: F401 - a fixture for serial-line tests

FIXTURES = Path(__file__).parent.parent / "fixtures"
ENT_A = "91120111MA05K8XX3E"
ENT_B = "91120111MA06L2QW8F"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def small_district(db_settings: DatabaseSettings) -> DatabaseSettings:
    """``db_settings`` with tests/fixtures/district_small.yaml provisioned."""
    provision_small_district(db_settings)
    return db_settings


def provision_small_district(db: DatabaseSettings) -> None:
    spec = parse_district((FIXTURES / "district_small.yaml").read_text())
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, spec)
    engine.dispose()


@pytest.fixture
def ingest(
    small_district: DatabaseSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> Iterator[IngestProcess]:
    proc = start_ingest(small_district, mqtt_settings, tmp_path)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def publisher(mqtt_settings: MqttSettings) -> Iterator[Publisher]:
    pub = Publisher(mqtt_settings, f"{mqtt_settings.topic_root}-pub")
    yield pub
    pub.close()
