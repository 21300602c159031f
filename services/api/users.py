"""API accounts: creation (CLI and admins), password and API-key authentication."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from services.api.security import (
    Principal,
    Role,
    decoy_hash,
    hash_password,
    new_api_key,
    same_hash,
    split_api_key,
    verify_password,
)
from services.core.errors import EnergymonError
from services.core.logging import get_logger
from services.core.store import registry, users
from services.core.store.users import StoredUser

MIN_PASSWORD_LENGTH = 12
log = get_logger(__name__)


class AccountError(EnergymonError):
    pass


def create_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    role: Role,
    enterprise_code: str | None = None,
    gateway_code: str | None = None,
) -> int:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    enterprise_id: int | None = None
    gateway_id: int | None = None
    if role in (Role.ENTERPRISE, Role.GATEWAY):
        if enterprise_code is None:
            raise AccountError(f"a {role} account needs --enterprise")
        ent = registry.enterprise(conn, code=enterprise_code)
        if ent is None:
            raise AccountError(f"enterprise {enterprise_code} is not registered")
        enterprise_id = ent.id
        if role == Role.GATEWAY:
            gateway_id = registry.gateway_id(conn, enterprise_id=ent.id, code=gateway_code)
            if gateway_id is None:
                raise AccountError(
                    f"gateway {gateway_code!r} is not registered for {enterprise_code}"
                )
    if users.user_id(conn, username=username) is not None:
        raise AccountError(f"user {username!r} exists")
    return users.insert_user(
        conn,
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        enterprise_id=enterprise_id,
        gateway_id=gateway_id,
    )


def _principal(user: StoredUser) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        gateway_id=user.gateway_id,
        token_version=user.token_version,
    )


def authenticate(conn: Connection, username: str, password: str) -> Principal | None:
    user = users.active_user(conn, username=username)
    if user is None:
        verify_password(decoy_hash(), password)  # one verification either way: same time
        return None
    return _principal(user) if verify_password(user.password_hash, password) else None


def create_api_key(
    conn: Connection, username: str, name: str | None = None, *, by: str | None = None
) -> str:
    """A new API key for the active account ``username``: the full key, to show once (only its
    hash is kept). ``by``: the admin issuing it at the console (None: the command line); the
    issue is logged and stored with the key, never the key itself."""
    user = users.account(conn, username=username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    if not user.active:
        raise AccountError(f"user {username!r} is deactivated")
    key, prefix, digest = new_api_key()
    users.insert_api_key(
        conn, user_id=user.id, prefix=prefix, key_hash=digest, name=name, issued_by=by
    )
    log.info("api key issued", prefix=prefix, username=username, key_name=name, by=by or "cli")
    return key


def set_account_active(
    conn: Connection, username: str, *, active: bool, by: str | None = None
) -> bool:
    """Activate or deactivate ``username``'s account; False if it already was so. A deactivated
    account cannot log in, and its tokens, console sessions and API keys stop working at once.
    Refused: deactivating oneself (``by``, the admin at the console) or the last active admin."""
    user = users.account(conn, username=username, lock=True)
    if user is None:
        raise AccountError(f"no user {username!r}")
    if user.active == active:
        return False
    if not active:
        if by is not None and username == by:
            raise AccountError("you cannot deactivate your own account")
        if user.role == Role.ADMIN and users.active_admins(conn, lock=True) == [username]:
            raise AccountError(f"{username!r} is the last active admin")
    users.set_active(conn, user_id=user.id, active=active)
    log.info(
        "account activated" if active else "account deactivated",
        username=username,
        by=by or "cli",
    )
    return True


def current_token_version(engine: Engine, user_id: int) -> int | None:
    """The active account's token version read on ``engine`` (None: inactive or gone)."""
    with engine.connect() as conn:
        return users.current_token_version(conn, user_id=user_id)


def principal_for_api_key(conn: Connection, key: str) -> Principal | None:
    parts = split_api_key(key)
    if parts is None:
        return None
    prefix, digest = parts
    found = users.user_of_api_key(conn, prefix=prefix)
    if found is None or not same_hash(found.key_hash, digest):
        return None
    return _principal(found.user)


def revoke_api_key(conn: Connection, prefix: str) -> bool:
    return users.revoke_api_key(conn, prefix=prefix)
