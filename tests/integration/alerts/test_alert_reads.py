"""What a watcher of alerts reads (`energymon demo` prints from it): whether an alert about a
subject or an enterprise is live, and the alerts of some rules as they open, clear and resolve."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from services.core.alerting.lifecycle import Finding, Open, Resolve, StartClearing, State
from services.core.alerting.store import alert_is_live, alerts_seen, apply, live_alerts
from services.core.db import make_engine
from services.core.schema.tables import enterprises, sites
from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A, ENT_B


@pytest.fixture
def conn(small_district: DatabaseSettings) -> Iterator[Connection]:
    engine = make_engine(small_district)
    with engine.begin() as conn:
        yield conn
    engine.dispose()


def _open(conn: Connection, finding: Finding, at: datetime) -> int:
    apply(conn, [Open(finding)], at)
    return live_alerts(conn, [finding.rule])[finding.key].id


def _ids(conn: Connection) -> tuple[int, int, int]:
    """Enterprise A's id, its data centre's and enterprise B's store's."""
    ent_a = conn.execute(select(enterprises.c.id).where(enterprises.c.code == ENT_A)).scalar_one()
    dc = conn.execute(select(sites.c.id).where(sites.c.code == "dc-1")).scalar_one()
    store = conn.execute(select(sites.c.id).where(sites.c.code == "store-1")).scalar_one()
    return ent_a, dc, store


def _budget(enterprise_id: int, code: str) -> Finding:
    return Finding(
        "budget_exceeded",
        "budget",
        enterprise_id,
        f"{code} 2026 electricity (kWh) 2026",
        "2026",
        active=True,
        value=120.0,
        limit=100.0,
        enterprise_id=enterprise_id,
    )


def _pue(rule: str, site_id: int, subject: str, window: str) -> Finding:
    return Finding(rule, "site", site_id, subject, window, active=True, value=1.4, limit=1.25)


def test_an_alert_is_live_by_its_subject_text_or_its_enterprise_until_it_resolves(
    conn: Connection,
) -> None:
    ent_a, dc, _ = _ids(conn)
    at = datetime.now(UTC)
    pue = _open(conn, _pue("pue_insufficient_data", dc, f"{ENT_A}/dc-1", "ytd"), at)
    budget = _open(conn, _budget(ent_a, ENT_A), at)

    assert alert_is_live(conn, rule="pue_insufficient_data", subject=f"{ENT_A}/dc-1")
    assert not alert_is_live(conn, rule="pue_insufficient_data", subject=f"{ENT_B}/dc-1")
    assert not alert_is_live(conn, rule="pue_over_limit", subject=f"{ENT_A}/dc-1")
    assert alert_is_live(conn, rule="budget_exceeded", enterprise=ENT_A)
    assert not alert_is_live(conn, rule="budget_exceeded", enterprise=ENT_B)
    assert not alert_is_live(conn, rule="budget_exceeded", enterprise="no such enterprise")

    apply(conn, [StartClearing(budget, None)], at + timedelta(seconds=5))
    assert alert_is_live(conn, rule="budget_exceeded", enterprise=ENT_A)  # clearing is live
    apply(conn, [Resolve(budget, None), Resolve(pue, None)], at + timedelta(seconds=10))
    assert not alert_is_live(conn, rule="budget_exceeded", enterprise=ENT_A)
    assert not alert_is_live(conn, rule="pue_insufficient_data", subject=f"{ENT_A}/dc-1")


def test_alerts_seen_are_the_live_and_newly_resolved_alerts_of_the_watched_rules(
    conn: Connection,
) -> None:
    ent_a, dc, store = _ids(conn)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    old = _open(conn, _pue("pue_over_limit", dc, f"{ENT_A}/dc-1", "mtd"), t0)
    apply(conn, [Resolve(old, None)], t0 + timedelta(minutes=1))  # before the watch began
    since = t0 + timedelta(minutes=10)
    over = _open(conn, _pue("pue_over_limit", dc, f"{ENT_A}/dc-1", "ytd"), since)
    budget = _open(conn, _budget(ent_a, ENT_A), since)
    silent = Finding("silent_meter", "meter", store, f"{ENT_B}/B-1", "", active=True)
    apply(conn, [Open(silent)], since)
    apply(conn, [StartClearing(over, None)], since + timedelta(minutes=1))
    apply(conn, [Resolve(budget, None)], since + timedelta(minutes=2))

    seen = alerts_seen(conn, rule_prefixes=["pue_", "budget_"], resolved_since=since)

    assert [(a.id, a.rule, a.subject, a.window) for a in seen] == [
        (over, "pue_over_limit", f"{ENT_A}/dc-1", "ytd"),
        (budget, "budget_exceeded", f"{ENT_A} 2026 electricity (kWh) 2026", "2026"),
    ]
    clearing, resolved = seen
    assert (clearing.state, clearing.clearing, clearing.resolved_at) == (State.OPEN, True, None)
    assert (clearing.value, clearing.limit, clearing.opened_at) == (1.4, 1.25, since)
    assert resolved.state == State.RESOLVED
    assert resolved.resolved_at == since + timedelta(minutes=2)
