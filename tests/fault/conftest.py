"""Fault tests (``-m fault``): each puts the platform through a failure — poison input, broker
restarts, dead replicas, rogue credentials, signals at random moments, stuck shutdowns — against
the real services, and counts what was acknowledged against what was stored. Every test in this
directory is marked ``fault`` and ``integration``."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import (  # noqa: F401 - fixtures
    api,
    api_config_extra,
    api_overrides,
)
from tests.integration.conftest import ingest, publisher, small_district  # noqa: F401 - fixtures

HERE = Path(__file__).parent
DISTRICT = HERE.parent / "fixtures" / "district_small.yaml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.fault)
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def district(db_settings: DatabaseSettings) -> DatabaseSettings:
    """``db_settings`` with tests/fixtures/district_small.yaml provisioned."""
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(DISTRICT.read_text(encoding="utf-8")))
    engine.dispose()
    return db_settings
