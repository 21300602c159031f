"""Accounts (``energymon users create``) are bound to the registry: an enterprise account to a
registered enterprise, a gateway account to a gateway of that enterprise; usernames are unique.
A caller bound to no enterprise sees no enterprise's data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from services.api.security import Principal, Role, configure_hasher
from services.api.tenancy import own_enterprises
from services.api.users import AccountError, authenticate, create_user
from services.core.alerting import store as alert_store
from services.core.alerting.lifecycle import Finding, Open
from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from services.core.store import registry
from tests.integration.conftest import ENT_A, ENT_B

PASSWORD = "correct horse battery"


@pytest.fixture
def conn(small_district: DatabaseSettings) -> Iterator[Connection]:
    configure_hasher(1, 64)  # cheap hashes: the cost is not under test
    engine = make_engine(small_district)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_a_gateway_account_is_bound_to_its_enterprise_and_gateway(conn: Connection) -> None:
    create_user(
        conn,
        username="a-gw02",
        password=PASSWORD,
        role=Role.GATEWAY,
        enterprise_code=ENT_A,
        gateway_code="gw-02",
    )
    who = authenticate(conn, "a-gw02", PASSWORD)
    assert who is not None
    assert who.role is Role.GATEWAY
    assert who.enterprise_id is not None
    assert who.gateway_id is not None
    assert registry.enterprise_code(conn, enterprise_id=who.enterprise_id) == ENT_A
    assert registry.gateway_code(conn, gateway_id=who.gateway_id) == "gw-02"


def test_a_gateway_of_another_enterprise_is_refused(conn: Connection) -> None:
    with pytest.raises(AccountError, match="'gw-02' is not registered for"):
        create_user(
            conn,
            username="b-gw02",
            password=PASSWORD,
            role=Role.GATEWAY,
            enterprise_code=ENT_B,  # B has gw-01 only; gw-02 is A's
            gateway_code="gw-02",
        )


def test_an_unregistered_enterprise_is_refused(conn: Connection) -> None:
    with pytest.raises(AccountError, match="91120111MA09ZZZZ9Z is not registered"):
        create_user(
            conn,
            username="ghost",
            password=PASSWORD,
            role=Role.ENTERPRISE,
            enterprise_code="91120111MA09ZZZZ9Z",
        )


def test_a_username_is_taken_once(conn: Connection) -> None:
    create_user(conn, username="wang", password=PASSWORD, role=Role.OFFICER)
    with pytest.raises(AccountError, match="user 'wang' exists"):
        create_user(conn, username="wang", password=PASSWORD + "!", role=Role.OFFICER)
    who = authenticate(conn, "wang", PASSWORD)
    assert who is not None  # the first account's password still holds


def test_an_enterprise_caller_without_an_enterprise_sees_no_enterprise(conn: Connection) -> None:
    ent_a = registry.enterprise(conn, code=ENT_A)
    assert ent_a is not None
    finding = Finding(
        "silent_meter", "meter", 1, f"{ENT_A}/M-100", "", True, enterprise_id=ent_a.id
    )
    alert_store.apply(conn, [Open(finding)], datetime.now(UTC))
    officer = own_enterprises(Principal(user_id=1, username="o", role=Role.OFFICER))
    unbound = own_enterprises(Principal(user_id=2, username="e", role=Role.ENTERPRISE))
    everyone = registry.enterprises_page(conn, limit=10, enterprise_ids=officer)
    assert [e.code for e in everyone] == [ENT_A, ENT_B]
    assert [a.enterprise for a in alert_store.alert_page(conn, limit=10)] == [ENT_A]
    assert registry.enterprises_page(conn, limit=10, enterprise_ids=unbound) == []
    assert registry.active_enterprise_names(conn, enterprise_ids=unbound) == {}
    assert alert_store.alert_page(conn, limit=10, enterprise_ids=unbound) == []
