"""What a caller may see: an enterprise is visible to officers and admins and to its own account
(another's answers 404, as if it did not exist); a town must exist."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from services.api.problems import Problem
from services.api.security import Principal
from services.core.store import registry
from services.core.store.registry import Enterprise
from services.core.store.scope import Scope


def own_enterprises(who: Principal) -> Sequence[int] | None:
    """The enterprises whose data a list may show the caller: None (every one) for officers and
    admins, else the caller's own (none without one)."""
    if who.sees_everything:
        return None
    return () if who.enterprise_id is None else (who.enterprise_id,)


def visible_enterprise(conn: Connection, who: Principal, code: str) -> Enterprise:
    """The enterprise ``code`` if the caller may see it; another tenant's is a 404."""
    ent = registry.enterprise(conn, code=code)
    _must_see(who, code, None if ent is None else ent.id)
    assert ent is not None
    return ent


def _must_see(who: Principal, code: str, found: int | None) -> None:
    """404 unless the enterprise ``code`` (id ``found``, None: unknown) is the caller's to see."""
    if found is None or (not who.sees_everything and found != who.enterprise_id):
        raise Problem(404, f"no enterprise {code}")


def known_town(conn: Connection, town: str) -> None:
    """A town with an active enterprise; any other is a 404."""
    if not registry.town_is_known(conn, town=town):
        raise Problem(404, f"no town {town}")


def visible_scope(conn: Connection, *, who: Principal, scope: Scope) -> None:
    """An enterprise's scope (the enterprise, a site or a meter of it) must be visible to the
    caller and a town's must exist; the district's always is. Who may ask for a town or the
    district at all is the route's role check."""
    if scope.enterprise is not None:
        code = scope.enterprise
        _must_see(who, code, registry.enterprise_id(conn, code=code))
    elif scope.town is not None:
        known_town(conn, scope.town)
