"""What a caller may see: an enterprise is visible to officers and admins and to its own account
(another's answers 404, as if it did not exist); a town must exist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select, text

from services.api.problems import Problem
from services.api.security import Principal
from services.core.schema.tables import enterprises
from services.core.store.scope import Scope


def visible_enterprise(conn: Connection, who: Principal, code: str) -> Row[Any]:
    """The enterprise ``code`` if the caller may see it; another tenant's is a 404."""
    row = conn.execute(select(enterprises).where(enterprises.c.code == code)).first()
    if row is None or (not who.sees_everything and row.id != who.enterprise_id):
        raise Problem(404, f"no enterprise {code}")
    return row


def known_town(conn: Connection, town: str) -> None:
    """A town with an active enterprise; any other is a 404."""
    found = conn.execute(
        text("SELECT 1 FROM enterprises WHERE town = :t AND active LIMIT 1"), {"t": town}
    ).first()
    if found is None:
        raise Problem(404, f"no town {town}")


def visible_scope(conn: Connection, *, who: Principal, scope: Scope) -> None:
    """An enterprise's scope (the enterprise, a site or a meter of it) must be visible to the
    caller and a town's must exist; the district's always is. Who may ask for a town or the
    district at all is the route's role check."""
    if scope.enterprise is not None:
        visible_enterprise(conn, who, scope.enterprise)
    elif scope.town is not None:
        known_town(conn, scope.town)
