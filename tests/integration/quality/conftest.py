from __future__ import annotations

from tests.integration.api.conftest import (  # noqa: F401 - fixtures
    api,
    api_config_extra,
    api_overrides,
)
