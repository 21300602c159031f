"""API accounts and their keys as stored: hashes only, never a password or a key's secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from services.core.schema.tables import api_keys, api_users, enterprises, gateways

# the channel a change of an account is notified on (its id as the payload)
ACCOUNTS_CHANNEL = "energymon_accounts"


@dataclass(frozen=True, slots=True)
class StoredUser:
    id: int
    username: str
    role: str
    enterprise_id: int | None
    gateway_id: int | None
    password_hash: str
    token_version: int
    active: bool


@dataclass(frozen=True, slots=True)
class KeyedUser:
    """The active user an API key belongs to, with the key's hash to compare."""

    user: StoredUser
    key_hash: bytes


_USER_COLUMNS = (
    api_users.c.id,
    api_users.c.username,
    api_users.c.role,
    api_users.c.enterprise_id,
    api_users.c.gateway_id,
    api_users.c.password_hash,
    api_users.c.token_version,
    api_users.c.active,
)


def _user(r: Row[*tuple[Any, ...]]) -> StoredUser:
    # by attribute: the row may carry more columns than the user's
    return StoredUser(
        id=r.id,
        username=r.username,
        role=r.role,
        enterprise_id=r.enterprise_id,
        gateway_id=r.gateway_id,
        password_hash=r.password_hash,
        token_version=r.token_version,
        active=r.active,
    )


def user_id(conn: Connection, *, username: str) -> int | None:
    """The id of ``username``'s account, active or not."""
    return conn.execute(select(api_users.c.id).where(api_users.c.username == username)).scalar()


def insert_user(
    conn: Connection,
    *,
    username: str,
    password_hash: str,
    role: str,
    enterprise_id: int | None,
    gateway_id: int | None,
) -> int:
    """A new account; returns its id."""
    stmt = (
        insert(api_users)
        .values(
            username=username,
            password_hash=password_hash,
            role=role,
            enterprise_id=enterprise_id,
            gateway_id=gateway_id,
        )
        .returning(api_users.c.id)
    )
    return int(conn.execute(stmt).scalar_one())


def active_user(conn: Connection, *, username: str) -> StoredUser | None:
    """``username``'s account if it is active."""
    row = conn.execute(
        select(*_USER_COLUMNS).where(api_users.c.username == username, api_users.c.active)
    ).first()
    return None if row is None else _user(row)


def account(conn: Connection, *, username: str, lock: bool = False) -> StoredUser | None:
    """``username``'s account, active or not (``lock``: FOR UPDATE, until the transaction
    ends)."""
    stmt = select(*_USER_COLUMNS).where(api_users.c.username == username)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    return None if row is None else _user(row)


def current_token_version(conn: Connection, *, user_id: int) -> int | None:
    """The token version of the active account ``user_id``; None if it is inactive or gone."""
    stmt = select(api_users.c.token_version).where(api_users.c.id == user_id, api_users.c.active)
    version = conn.execute(stmt).scalar()
    return None if version is None else int(version)


def active_admins(conn: Connection, *, lock: bool = False) -> list[str]:
    """The usernames of the active admins (``lock``: FOR UPDATE, so two deactivations cannot
    both leave the other admin as the last one and then remove it)."""
    stmt = (
        select(api_users.c.username)
        .where(api_users.c.role == "admin", api_users.c.active)
        .order_by(api_users.c.id)
    )
    return list(conn.execute(stmt.with_for_update() if lock else stmt).scalars())


def set_active(conn: Connection, *, user_id: int, active: bool) -> None:
    """Activate or deactivate an account; deactivating raises its token version, which ends
    every token and session issued to it before. The API processes hear of it when the
    transaction commits (NOTIFY on ``ACCOUNTS_CHANNEL`` with the account's id)."""
    values: dict[str, Any] = {"active": active}
    if not active:
        values["token_version"] = api_users.c.token_version + 1
    conn.execute(update(api_users).where(api_users.c.id == user_id).values(**values))
    conn.execute(select(func.pg_notify(ACCOUNTS_CHANNEL, str(user_id))))


def insert_api_key(
    conn: Connection,
    *,
    user_id: int,
    prefix: str,
    key_hash: bytes,
    name: str | None,
    issued_by: str | None = None,
) -> None:
    conn.execute(
        insert(api_keys).values(
            user_id=user_id, prefix=prefix, key_hash=key_hash, name=name, issued_by=issued_by
        )
    )


def user_of_api_key(conn: Connection, *, prefix: str) -> KeyedUser | None:
    """The active user holding the unrevoked key ``prefix``."""
    row = conn.execute(
        select(*_USER_COLUMNS, api_keys.c.key_hash)
        .join(api_keys, api_keys.c.user_id == api_users.c.id)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None), api_users.c.active)
    ).first()
    return None if row is None else KeyedUser(_user(row), bytes(row.key_hash))


def revoke_api_key(conn: Connection, *, prefix: str) -> bool:
    """Revoke the key ``prefix``; False if there is no such unrevoked key."""
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class UserListing:
    """An account as an admin sees it: never its password hash."""

    username: str
    role: str
    enterprise: str | None  # the enterprise's code
    gateway: str | None  # the gateway's code
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KeyListing:
    """An API key as an admin sees it: its public prefix, never its hash."""

    prefix: str
    name: str | None
    username: str
    created_at: datetime
    revoked_at: datetime | None
    issued_by: str | None  # the admin, when issued at the console


# the columns of UserListing and KeyListing, in their order
_USER_LISTING = (
    api_users.c.username,
    api_users.c.role,
    enterprises.c.code,
    gateways.c.code,
    api_users.c.active,
    api_users.c.created_at,
)
_KEY_LISTING = (
    api_keys.c.prefix,
    api_keys.c.name,
    api_users.c.username,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
    api_keys.c.issued_by,
)


def user_listing(conn: Connection) -> list[UserListing]:
    """Every account, by username, with its enterprise's and gateway's codes."""
    stmt = (
        select(*_USER_LISTING)
        .select_from(
            api_users.outerjoin(
                enterprises, enterprises.c.id == api_users.c.enterprise_id
            ).outerjoin(gateways, gateways.c.id == api_users.c.gateway_id)
        )
        .order_by(api_users.c.username)
    )
    return [UserListing(*r) for r in conn.execute(stmt)]


def key_listing(conn: Connection) -> list[KeyListing]:
    """Every API key, unrevoked first, newest first."""
    stmt = (
        select(*_KEY_LISTING)
        .join(api_users, api_users.c.id == api_keys.c.user_id)
        .order_by(api_keys.c.revoked_at.is_not(None), api_keys.c.created_at.desc())
    )
    return [KeyListing(*r) for r in conn.execute(stmt)]
