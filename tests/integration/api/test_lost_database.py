"""A database connection lost under a request (a PostgreSQL restart or failover between two uses
of a pooled connection): that request answers 503 with Retry-After, not a 500, and the next one
is served on a new connection."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import DAY, start_api
from tests.integration.conftest import ENT_A

WINDOW = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}


def _end_the_pools_connections(db: DatabaseSettings) -> int:
    """End, from another session, every idle connection of the API's pool (not its LISTEN
    session for account changes), waiting until each has ended; how many."""
    with psycopg.connect(db.libpq_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND state = 'idle'"
            " AND query NOT ILIKE 'LISTEN%%'"
        ).fetchall()
    assert rows
    assert all(ended for (ended,) in rows)
    return len(rows)


def test_a_lost_connection_answers_503_and_the_next_request_is_served(
    small_district: DatabaseSettings,
) -> None:
    # pooled connections are never idle long enough to be checked before use
    db = small_district.model_copy(update={"ping_idle_s": 3600})
    with start_api(db) as api:
        path = f"/api/v1/enterprises/{ENT_A}/consumption"
        ask = {"params": WINDOW, "headers": api.as_("officer")}
        first = api.client.get(path, **ask)  # type: ignore[arg-type]
        assert first.status_code == 200, first.text
        _end_the_pools_connections(db)
        lost = api.client.get(path, **ask)  # type: ignore[arg-type]
        assert lost.status_code == 503, lost.text
        assert lost.headers["retry-after"] == "1"
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.json()["type"] == "https://energymon.dev/problems/unavailable"
        again = api.client.get(path, **ask)  # type: ignore[arg-type]
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
