"""`energymon budgets set` and `status`: one budget created or changed from the command line,
its status as CSV; a bad budget is a clear error and changes nothing."""

from __future__ import annotations

import csv
import io

import psycopg

from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli


def _budgets(db: DatabaseSettings) -> list[tuple[object, ...]]:
    with psycopg.connect(db.libpq_url) as conn:
        return conn.execute(
            "SELECT site_code, year, carrier, amount, unit, monthly FROM budgets WHERE active "
            "ORDER BY id"
        ).fetchall()


def test_set_creates_then_changes_a_budget_and_status_lists_it(
    small_district: DatabaseSettings,
) -> None:
    env = {"ENERGYMON_DATABASE_URL": small_district.url}
    args = ["budgets", "set", ENT_A, "--year", "2026", "--carrier", "electricity"]
    created = run_cli(*args, "--unit", "kWh", "--amount", "120000", env=env)
    assert created.returncode == 0, created.stderr
    assert "budgets created 1" in created.stdout
    changed = run_cli(
        *args, "--unit", "kWh", "--amount", "150000", "--monthly", "11=12000,12=13000", env=env
    )
    assert changed.returncode == 0, changed.stderr
    assert "budgets updated 1" in changed.stdout
    tce = run_cli("budgets", "set", ENT_A, "--year", "2026", "--amount", "900", env=env)
    assert tce.returncode == 0, tce.stderr
    assert _budgets(small_district) == [
        ("", 2026, "electricity", 150000.0, "kWh", {"11": 12000.0, "12": 13000.0}),
        ("", 2026, "", 900.0, "tce", None),
    ]
    status = run_cli("budgets", "status", env=env)
    assert status.returncode == 0, status.stderr
    rows = list(csv.DictReader(io.StringIO(status.stdout)))
    assert {(r["enterprise"], r["carrier"], r["budget"]) for r in rows} >= {
        (ENT_A, "electricity", "150000"),
        (ENT_A, "", "900"),
    }


def test_a_bad_budget_is_a_clear_error_and_changes_nothing(
    small_district: DatabaseSettings,
) -> None:
    env = {"ENERGYMON_DATABASE_URL": small_district.url}
    before = _budgets(small_district)
    for extra, message in (
        (["--carrier", "electricity", "--amount", "5"], "needs --unit"),
        (["--carrier", "electricity", "--unit", "m3", "--amount", "5"], "not 'm3'"),
        (["--amount", "-5"], "greater than 0"),
        (["--amount", "5", "--site", "nowhere"], "no active site nowhere"),
        (["--amount", "5", "--monthly", "13=4"], "months 1-12"),
        (["--amount", "5", "--monthly", "jan:4"], "MONTH=AMOUNT"),
    ):
        result = run_cli("budgets", "set", ENT_A, "--year", "2026", *extra, env=env)
        assert result.returncode != 0, extra
        assert message in result.stderr, (extra, result.stderr)
    missing = run_cli("budgets", "set", "NOPE", "--year", "2026", "--amount", "5", env=env)
    assert "no active enterprise NOPE" in missing.stderr
    assert _budgets(small_district) == before
