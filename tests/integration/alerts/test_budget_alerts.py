"""Budget alerts from the budgets in the provisioning file: 85 % used -> warning; on track by
share but projected to reach 110 % -> early warning; 101 % -> breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.alerts.evaluator import budget_family
from services.core.db import make_engine
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import AlertsSettings, DatabaseSettings
from tests.integration.alerts.conftest import evaluate_once
from tests.integration.conftest import FIXTURES

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 17, tzinfo=SHANGHAI)
USED_KWH = 96 * 80.0  # one day of M-100 at 1 register unit per 15 min, CT ratio 80


@pytest.fixture
def budget_db(small_district: DatabaseSettings) -> DatabaseSettings:
    with psycopg.connect(small_district.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = 'M-100' AND p.quantity = 'energy_import_kwh'"
        ).fetchone()[0]  # type: ignore[index]
    writer = ReadingWriter(small_district)
    writer.write(
        Batch(rows=[(pid, DAY + timedelta(minutes=15 * i), 100.0 + i, DAY, 1) for i in range(97)])
    )
    writer.close()
    engine = make_engine(small_district)
    catch_up(engine)
    engine.dispose()
    return small_district


def _budget(db: DatabaseSettings, amount: float, monthly: str = "") -> None:
    split = f", monthly: {monthly}" if monthly else ""
    text = (
        (FIXTURES / "district_small.yaml")
        .read_text()
        .replace(
            "    grid_region: north\n",
            "    grid_region: north\n    budgets:\n"
            f"      - {{year: 2026, carrier: electricity, unit: kWh, amount: {amount}{split}}}\n",
            1,
        )
    )
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(text))
    engine.dispose()


def _evaluate(db: DatabaseSettings, now: datetime) -> list[tuple[object, ...]]:
    settings = AlertsSettings(hold_s=0)
    evaluate_once(db, settings, budget_family(settings, SHANGHAI), now)
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT rule, state, round(value::numeric, 3)::float, limit_value "
            "FROM alerts WHERE state = 'open' ORDER BY rule"
        ).fetchall()


def test_85_percent_used_is_a_warning(budget_db: DatabaseSettings) -> None:
    _budget(budget_db, USED_KWH / 0.85)
    # the last quarter hour of the year: nothing left to project
    assert _evaluate(budget_db, datetime(2026, 12, 31, 23, 45, tzinfo=SHANGHAI)) == [
        ("budget_warning", "open", 0.85, 0.8)
    ]


def test_on_track_by_share_but_projected_to_110_percent_is_an_early_warning(
    budget_db: DatabaseSettings,
) -> None:
    now = datetime(2026, 11, 25, tzinfo=SHANGHAI)
    # eight days of data: 7 680 kWh -> 960 kWh/day over the 37 days left -> 43 200 kWh
    projected = USED_KWH + USED_KWH / 8 * 37
    _budget(budget_db, projected / 1.1)
    alerts = _evaluate(budget_db, now)
    assert [(a[0], a[1]) for a in alerts] == [("budget_projected_overrun", "open")]
    assert alerts[0][2] == pytest.approx(projected, rel=1e-3)


def test_101_percent_is_a_breach_and_supersedes_the_warnings(budget_db: DatabaseSettings) -> None:
    _budget(budget_db, USED_KWH / 1.01)
    assert _evaluate(budget_db, datetime(2026, 11, 25, tzinfo=SHANGHAI)) == [
        ("budget_exceeded", "open", USED_KWH, pytest.approx(USED_KWH / 1.01))
    ]
    assert datetime.now(UTC).year >= 2026


def test_a_monthly_allocation_is_a_budget_of_its_own_month(budget_db: DatabaseSettings) -> None:
    """The year is far from its budget, but November's allocation is spent: a breach for the
    window 2026-11 only; in December (no allocation) it no longer holds and resolves."""
    _budget(budget_db, 1_000_000, monthly=f"{{11: {USED_KWH / 1.01}, 12: 90000}}")
    assert _evaluate(budget_db, datetime(2026, 11, 30, 23, 45, tzinfo=SHANGHAI)) == [
        ("budget_exceeded", "open", USED_KWH, pytest.approx(USED_KWH / 1.01))
    ]
    with psycopg.connect(budget_db.libpq_url) as conn:
        windows = conn.execute("SELECT time_window, subject FROM alerts").fetchall()
    assert [w for w, _ in windows] == ["2026-11"]
    assert "2026-11 electricity" in windows[0][1]
    assert _evaluate(budget_db, datetime(2026, 12, 2, tzinfo=SHANGHAI)) == []
