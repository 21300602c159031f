"""Schemathesis against the running API with seeded data: no 5xx, and every response (status,
content type, body) matches the OpenAPI document. Driven through schemathesis' Python API (its
lazy pytest fixture does not work with pytest 9)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.integration.api.conftest import ApiHarness


@pytest.mark.slow
def test_the_api_honours_its_openapi_document(api: ApiHarness) -> None:
    # the token endpoint answers 401 to made-up credentials by design; it is tested elsewhere
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json").exclude(
        path="/api/v1/auth/token"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        _fuzz(operation, api)


def _fuzz(operation: Any, api: ApiHarness) -> None:
    # a gateway for the ingest route, an admin everywhere else: both reach the handlers
    user = "gw_a" if operation.path == "/api/v1/ingest/readings" else "admin"
    headers = {"Authorization": f"Bearer {api.tokens[user]}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case: schemathesis.Case) -> None:
        # Opaque cursors, over-long ranges and limits above ENERGYMON_API_MAX_PAGE_SIZE answer
        # documented 400s to schema-valid input, so "positive data acceptance" is left out.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()
