"""A token is verified once per process and remembered; what is remembered still expires, and
nothing invalid is remembered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.api.security import InvalidTokenError, Principal, Role, decode_token, issue_token
from services.core.settings import ApiSettings

KEY = "k1:" + "s" * 40
OTHER = "k2:" + "t" * 40


def _settings(keys: str = KEY) -> ApiSettings:
    return ApiSettings(jwt_keys=keys, token_ttl_s=600)


WHO = Principal(user_id=7, username="officer-7", role=Role.OFFICER, token_version=2)


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    issued = datetime.now(UTC)
    token = issue_token(WHO, _settings(), now=issued)
    at = issued.timestamp()
    assert decode_token(token, _settings(), now=at + 1) == WHO  # verified, remembered
    assert decode_token(token, _settings(), now=at + 599) == WHO  # remembered
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_token(token, _settings(), now=at + 600)


def test_a_remembered_token_is_checked_again_under_other_keys() -> None:
    token = issue_token(WHO, _settings())
    assert decode_token(token, _settings()) == WHO
    with pytest.raises(InvalidTokenError, match="unknown signing key"):
        decode_token(token, _settings(OTHER))


def test_a_refused_token_is_not_remembered_as_valid() -> None:
    token = issue_token(WHO, _settings(), now=datetime.now(UTC) - timedelta(hours=1))
    for _ in range(2):
        with pytest.raises(InvalidTokenError, match="expired"):
            decode_token(token, _settings())
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}AA"
    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            decode_token(tampered, _settings())
