"""Credentials: argon2id password hashes, signed short-lived JWTs, API keys.

Tokens are HS256 JWTs with ``kid`` in the header; every key in ``ENERGYMON_API_JWT_KEYS`` verifies
and the first signs, so a key is rotated by prepending a new one and dropping the old one once the
longest token lifetime has passed. Only HS256 is accepted: ``alg=none`` and algorithm confusion are
refused. API keys look like ``emk_<prefix>_<secret>``; only the SHA-256 of the secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from services.core.errors import EnergymonError
from services.core.settings import ApiSettings

_HASHER = PasswordHasher()
_DECOY_HASH: str | None = None


def configure_hasher(time_cost: int, memory_kib: int) -> None:
    """Set the cost of new hashes; existing hashes carry their own parameters and still verify."""
    global _HASHER, _DECOY_HASH  # noqa: PLW0603 - one hasher per process, set at start-up
    _HASHER = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DECOY_HASH = None


_ISSUER = "energymon"


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    ENTERPRISE = "enterprise"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. The tenant comes from here, never from a request parameter."""

    user_id: int
    username: str
    role: Role
    enterprise_id: int | None = None
    gateway_id: int | None = None
    token_version: int = 0  # the account's, when its token was issued (see api_users)

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.OFFICER)


class InvalidTokenError(EnergymonError):
    pass


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def decoy_hash() -> str:
    """A hash at the current cost that no password is meant to match: verifying against it for
    an unknown username costs what verifying a real one does (hashing anew would cost twice,
    which tells an attacker the username does not exist)."""
    global _DECOY_HASH  # noqa: PLW0603 - computed once per hasher, on first use
    if _DECOY_HASH is None:
        _DECOY_HASH = _HASHER.hash(secrets.token_urlsafe(32))
    return _DECOY_HASH


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def issue_token(principal: Principal, settings: ApiSettings, *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    kid, secret = settings.keys[0]
    claims = {
        "sub": str(principal.user_id),
        "name": principal.username,
        "role": principal.role.value,
        "ent": principal.enterprise_id,
        "gw": principal.gateway_id,
        "ver": principal.token_version,
        "aud": settings.audience,
        "iss": _ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.token_ttl_s)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})


def decode_token(token: str, settings: ApiSettings, *, now: float | None = None) -> Principal:
    """The principal of a valid token; :class:`InvalidTokenError` otherwise. A token's signature
    and claims are checked once per process (a token is sent with every request of its life):
    later calls with the same token and keys only check that it has not expired."""
    who, expires = _verified(token, settings.jwt_keys, settings.audience)
    if expires <= (time.time() if now is None else now):
        raise InvalidTokenError("Signature has expired")
    return who


@lru_cache(maxsize=4096)
def _verified(token: str, jwt_keys: str, audience: str) -> tuple[Principal, float]:
    """The principal and expiry of a token whose signature and claims are valid (an invalid
    one raises, which is not remembered)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise InvalidTokenError("malformed token") from err
    secret = dict(ApiSettings.parse_keys(jwt_keys)).get(str(header.get("kid", "")))
    if secret is None:
        raise InvalidTokenError("unknown signing key")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        who = Principal(
            user_id=int(claims["sub"]),
            username=str(claims.get("name", "")),
            role=Role(claims["role"]),
            enterprise_id=claims.get("ent"),
            gateway_id=claims.get("gw"),
            token_version=int(claims.get("ver", 0)),
        )
        return who, float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError) as err:
        raise InvalidTokenError(str(err)) from err


def new_api_key() -> tuple[str, str, bytes]:
    """(full key to show once, prefix to store, hash to store)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"emk_{prefix}_{secret}", prefix, hashlib.sha256(secret.encode()).digest()


def split_api_key(key: str) -> tuple[str, bytes] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "emk":
        return None
    return parts[1], hashlib.sha256(parts[2].encode()).digest()


def same_hash(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
