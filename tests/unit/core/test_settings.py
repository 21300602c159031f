from __future__ import annotations

import pytest

from services.core.errors import ConfigError
from services.core.settings import CommonSettings, DatabaseSettings, MqttSettings, require_safe


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user", "password"),
    [
        ("mqtt://127.0.0.1", "127.0.0.1", 1883, False, None, None),
        ("mqtts://broker.local", "broker.local", 8883, True, None, None),
        ("mqtt://ingest:s%40cret@10.0.0.5:2883", "10.0.0.5", 2883, False, "ingest", "s@cret"),
    ],
)
def test_mqtt_url_is_parsed_into_an_endpoint(
    url: str, host: str, port: int, tls: bool, user: str | None, password: str | None
) -> None:
    ep = MqttSettings(url=url).endpoint
    assert (ep.host, ep.port, ep.tls, ep.username, ep.password) == (host, port, tls, user, password)


def test_a_non_mqtt_url_is_refused() -> None:
    with pytest.raises(ValueError, match="mqtt"):
        MqttSettings(url="http://127.0.0.1:1883")


def test_production_refuses_anonymous_mqtt() -> None:
    with pytest.raises(ConfigError, match="anonymous"):
        require_safe(CommonSettings(env="production"), MqttSettings(url="mqtt://broker:1883"))
    require_safe(CommonSettings(env="production"), MqttSettings(url="mqtt://u:p@broker:1883"))


def test_settings_come_from_energymon_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENERGYMON_DATABASE_URL", "postgresql://u@db:5433/x")
    monkeypatch.setenv("ENERGYMON_TIMEZONE", "UTC")
    assert DatabaseSettings().sqlalchemy_url == "postgresql+psycopg://u@db:5433/x"
    assert CommonSettings().zone.key == "UTC"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars"):
        CommonSettings(timezone="Mars/Olympus")
