from __future__ import annotations

from tests.integration.api.conftest import api, api_overrides  # noqa: F401 - fixtures
