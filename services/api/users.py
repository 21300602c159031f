"""API accounts: creation (CLI and admins), password and API-key authentication."""

from __future__ import annotations

from sqlalchemy import Connection, func, select, update

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
from services.core.schema.tables import api_keys, api_users, enterprises, gateways

MIN_PASSWORD_LENGTH = 12


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
    enterprise_id = gateway_id = None
    if role in (Role.ENTERPRISE, Role.GATEWAY):
        if enterprise_code is None:
            raise AccountError(f"a {role} account needs --enterprise")
        enterprise_id = conn.execute(
            select(enterprises.c.id).where(enterprises.c.code == enterprise_code)
        ).scalar()
        if enterprise_id is None:
            raise AccountError(f"enterprise {enterprise_code} is not registered")
    if role == Role.GATEWAY:
        gateway_id = conn.execute(
            select(gateways.c.id).where(
                gateways.c.enterprise_id == enterprise_id, gateways.c.code == gateway_code
            )
        ).scalar()
        if gateway_id is None:
            raise AccountError(f"gateway {gateway_code!r} is not registered for {enterprise_code}")
    exists = conn.execute(select(api_users.c.id).where(api_users.c.username == username)).scalar()
    if exists is not None:
        raise AccountError(f"user {username!r} exists")
    return int(
        conn.execute(
            api_users.insert()
            .values(
                username=username,
                password_hash=hash_password(password),
                role=role.value,
                enterprise_id=enterprise_id,
                gateway_id=gateway_id,
            )
            .returning(api_users.c.id)
        ).scalar_one()
    )


def _principal(row: object) -> Principal:
    return Principal(
        user_id=row.id,  # type: ignore[attr-defined]
        username=row.username,  # type: ignore[attr-defined]
        role=Role(row.role),  # type: ignore[attr-defined]
        enterprise_id=row.enterprise_id,  # type: ignore[attr-defined]
        gateway_id=row.gateway_id,  # type: ignore[attr-defined]
    )


_USER_COLUMNS = (
    api_users.c.id,
    api_users.c.username,
    api_users.c.role,
    api_users.c.enterprise_id,
    api_users.c.gateway_id,
    api_users.c.password_hash,
)


def authenticate(conn: Connection, username: str, password: str) -> Principal | None:
    row = conn.execute(
        select(*_USER_COLUMNS).where(api_users.c.username == username, api_users.c.active)
    ).first()
    if row is None:
        verify_password(decoy_hash(), password)  # one verification either way: same time
        return None
    return _principal(row) if verify_password(row.password_hash, password) else None


def create_api_key(conn: Connection, username: str, name: str | None = None) -> str:
    user_id = conn.execute(select(api_users.c.id).where(api_users.c.username == username)).scalar()
    if user_id is None:
        raise AccountError(f"no user {username!r}")
    key, prefix, digest = new_api_key()
    conn.execute(
        api_keys.insert().values(user_id=user_id, prefix=prefix, key_hash=digest, name=name)
    )
    return key


def principal_for_api_key(conn: Connection, key: str) -> Principal | None:
    parts = split_api_key(key)
    if parts is None:
        return None
    prefix, digest = parts
    row = conn.execute(
        select(*_USER_COLUMNS, api_keys.c.key_hash)
        .join(api_keys, api_keys.c.user_id == api_users.c.id)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None), api_users.c.active)
    ).first()
    if row is None or not same_hash(bytes(row.key_hash), digest):
        return None
    return _principal(row)


def revoke_api_key(conn: Connection, prefix: str) -> bool:
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return bool(result.rowcount)
