from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from services.api.app import create_app
from services.api.context import ApiConfig
from services.api.security import Role
from services.api.users import create_user
from services.core.db import make_engine
from services.core.settings import ApiSettings, CommonSettings, DatabaseSettings, IngestSettings
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.api import serve, token

PASSWORD = "correct horse battery"
USERS = {
    "admin": (Role.ADMIN, None, None),
    "officer": (Role.OFFICER, None, None),
    "ent_a": (Role.ENTERPRISE, ENT_A, None),
    "ent_b": (Role.ENTERPRISE, ENT_B, None),
    "gw_a": (Role.GATEWAY, ENT_A, "gw-01"),
}


@dataclass
class ApiHarness:
    url: str
    client: httpx.Client
    tokens: dict[str, str]
    db: DatabaseSettings
    settings: ApiSettings

    def as_(self, user: str | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"Bearer {self.tokens[user]}"}


def api_settings(**overrides: object) -> ApiSettings:
    return ApiSettings(
        jwt_keys="k2:second-signing-key-for-the-test-suite,k1:first-signing-key-for-the-test-suite",
        **overrides,
    )  # type: ignore[arg-type]


@pytest.fixture
def api_overrides() -> dict[str, object]:
    return {}


@pytest.fixture
def api(small_district: DatabaseSettings, api_overrides: dict[str, object]) -> Iterator[ApiHarness]:
    engine = make_engine(small_district)
    with engine.begin() as conn:
        for name, (role, ent, gw) in USERS.items():
            create_user(
                conn,
                username=name,
                password=PASSWORD,
                role=role,
                enterprise_code=ent,
                gateway_code=gw,
            )
    engine.dispose()
    settings = api_settings(**api_overrides)
    app = create_app(ApiConfig(CommonSettings(), small_district, settings, IngestSettings()))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        tokens = {name: token(client, name, PASSWORD) for name in USERS}
        yield ApiHarness(url, client, tokens, small_district, settings)
