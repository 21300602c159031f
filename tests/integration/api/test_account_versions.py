"""A signed token is checked against its account on every request, from a version each API
process remembers and forgets when PostgreSQL notifies a change of the account: a deactivation
committed anywhere (the console, the command line, another API process) is refused within
moments, and no request reads the database while nothing changed."""

from __future__ import annotations

import psycopg

from services.api.users import set_account_active
from services.core.db import make_engine
from services.core.embedded import wait_for
from tests.integration.api.conftest import ApiHarness


def _listening(api: ApiHarness) -> bool:
    with psycopg.connect(api.db.libpq_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = 'LISTEN \"energymon_accounts\"'"
        ).fetchone()
    return bool(row and row[0])


def test_a_deactivation_committed_elsewhere_is_refused_within_moments(api: ApiHarness) -> None:
    wait_for(lambda: _listening(api), 20, "the API to listen for account changes")
    bearer = api.as_("officer")
    assert api.client.get("/api/v1/me", headers=bearer).status_code == 200  # remembered now
    engine = make_engine(api.db)
    try:
        with engine.begin() as conn:  # as `energymon users deactivate` does, in its process
            assert set_account_active(conn, "officer", active=False, by="test")
    finally:
        engine.dispose()
    wait_for(
        lambda: api.client.get("/api/v1/me", headers=bearer).status_code == 401,
        5,
        "the deactivated officer's token to be refused",
    )


def test_the_remembered_version_serves_requests_until_the_account_changes(
    api: ApiHarness,
) -> None:
    """Proof that requests do not read the account: a version raised behind the platform's back
    (no notification) is not seen until a notification makes the process forget."""
    wait_for(lambda: _listening(api), 20, "the API to listen for account changes")
    bearer = api.as_("ent_a")
    assert api.client.get("/api/v1/me", headers=bearer).status_code == 200
    with psycopg.connect(api.db.libpq_url) as conn:
        conn.execute(
            "UPDATE api_users SET token_version = token_version + 1 WHERE username = 'ent_a'"
        )
    for _ in range(3):
        assert api.client.get("/api/v1/me", headers=bearer).status_code == 200
    with psycopg.connect(api.db.libpq_url, autocommit=True) as conn:
        user_id = conn.execute("SELECT id FROM api_users WHERE username = 'ent_a'").fetchone()
        assert user_id is not None
        conn.execute("SELECT pg_notify('energymon_accounts', %s)", (str(user_id[0]),))
    wait_for(
        lambda: api.client.get("/api/v1/me", headers=bearer).status_code == 401,
        5,
        "the changed account's token to be refused",
    )
