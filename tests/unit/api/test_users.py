"""Password logins cost the same for unknown and known usernames (no timing oracle)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher

from services.api import security
from services.api.users import authenticate


class CountingHasher(PasswordHasher):
    """argon2id at the test cost, counting hashes and verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64)
        self.calls: Counter[str] = Counter()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls["hash"] += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls["verify"] += 1
        return super().verify(hash, password)


class OneRow:
    """A connection whose every query answers ``row`` (None: no such active user)."""

    def __init__(self, row: object) -> None:
        self.row = row

    def execute(self, _statement: object) -> OneRow:
        return self

    def first(self) -> object:
        return self.row


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(security, "_HASHER", counting)
    monkeypatch.setattr(security, "_DECOY_HASH", None)
    return counting


def test_an_unknown_username_costs_one_verification_like_a_known_one(
    hasher: CountingHasher,
) -> None:
    known = SimpleNamespace(
        id=1,
        username="alice",
        role="officer",
        enterprise_id=None,
        gateway_id=None,
        password_hash=hasher.hash("correct horse battery"),
        token_version=0,
        active=True,
    )
    authenticate(OneRow(None), "nobody", "guess")  # type: ignore[arg-type] # the decoy, once
    hasher.calls.clear()
    assert authenticate(OneRow(None), "nobody", "guess") is None  # type: ignore[arg-type]
    unknown_cost = dict(hasher.calls)
    hasher.calls.clear()
    assert authenticate(OneRow(known), "alice", "guess") is None  # type: ignore[arg-type]
    assert unknown_cost == dict(hasher.calls) == {"verify": 1}
    who = authenticate(OneRow(known), "alice", "correct horse battery")  # type: ignore[arg-type]
    assert who is not None
    assert who.username == "alice"


def test_the_decoy_follows_the_configured_cost(hasher: CountingHasher) -> None:
    first = security.decoy_hash()
    assert security.decoy_hash() == first
    security.configure_hasher(2, 128)  # the fixture puts the process's hasher back
    assert "m=128,t=2" in security.decoy_hash()
