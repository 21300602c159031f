"""Fault tests (``-m fault``): each puts the platform through a failure — poison input, broker
restarts, dead replicas, rogue credentials, signals — against the real services, and counts what
was acknowledged against what was stored."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import api, api_overrides  # noqa: F401 - fixtures
from tests.integration.conftest import ingest, publisher, small_district  # noqa: F401 - fixtures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fault" in str(item.fspath):
            item.add_marker(pytest.mark.fault)
            item.add_marker(pytest.mark.integration)
