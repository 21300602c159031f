"""production_missing: one warning per enterprise and month still lacking its figures after the
due day, none before it, resolved once the figures arrive."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.alerts.evaluator import production_family
from services.core.db import make_engine
from services.core.settings import AlertsSettings, DatabaseSettings
from services.core.store.production import submit_rows
from tests.integration.alerts.conftest import evaluate_once
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.production import add_products

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAMILY = production_family(SHANGHAI, due_day=10)
SETTINGS = AlertsSettings(hold_s=0)
ON_DUE_DAY = datetime(2026, 12, 10, 23, 0, tzinfo=SHANGHAI)  # November's figures are due today
LATE = datetime(2026, 12, 11, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def db(small_district: DatabaseSettings) -> DatabaseSettings:
    engine = make_engine(small_district)
    add_products(
        engine, [(ENT_A, "steel", "crude steel", "t")], registered=datetime(2026, 11, 3, tzinfo=UTC)
    )
    engine.dispose()
    return small_district


def _alerts(db: DatabaseSettings) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT subject, time_window, state, title FROM alerts "
            "WHERE rule = 'production_missing' ORDER BY subject, time_window"
        ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_missing_figures_alert_after_the_due_day_and_resolve_when_they_arrive(
    db: DatabaseSettings,
) -> None:
    evaluate_once(db, SETTINGS, FAMILY, ON_DUE_DAY.astimezone(UTC))
    assert _alerts(db) == []  # not late yet (and October had no product registered)
    evaluate_once(db, SETTINGS, FAMILY, LATE.astimezone(UTC))
    assert _alerts(db) == [
        (
            ENT_A,
            "2026-11",
            "open",
            f"{ENT_A} 2026-11: output of steel and value added missing (due 2026-12-10)",
        )
    ]
    engine = make_engine(db)
    with engine.begin() as conn:
        ent = conn.exec_driver_sql(
            "SELECT id FROM enterprises WHERE code = %(c)s", {"c": ENT_A}
        ).scalar_one()
        submit_rows(
            conn,
            enterprise_id=ent,
            rows=[
                (1, {"period": "2026-11", "product": "steel", "output": 900, "unit": "t"}),
                (2, {"period": "2026-11", "value_added_10k_cny": 830, "price_base_year": 2020}),
            ],
            by="clerk",
            now=LATE.astimezone(UTC),
            zone=SHANGHAI,
        )
    engine.dispose()
    evaluate_once(db, SETTINGS, FAMILY, LATE.astimezone(UTC))
    assert [(s, w, st) for s, w, st, _ in _alerts(db)] == [(ENT_A, "2026-11", "resolved")]
    assert ENT_B not in {a[0] for a in _alerts(db)}  # B has no product: no figures expected
