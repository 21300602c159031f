"""``energymon report intensity``: an enterprise's figures, the district ranking and the quota
violations, as a table or CSV; mistakes are one line."""

from __future__ import annotations

import csv
import io
from datetime import date

from services.core.settings import DatabaseSettings
from tests.support.cli import run_cli
from tests.support.intensity import ENT_A, enter, feed_month, provision

NOV = date(2026, 11, 1)
STEPS = {("M-100", "energy_import_kwh"): 1.0, ("G-1", "gas_volume_m3"): 0.5}


def test_report_intensity_shows_the_enterprise_the_ranking_and_the_violations(
    small_district: DatabaseSettings,
) -> None:
    db = small_district
    provision(db)
    feed_month(db, NOV, STEPS)
    enter(db, ENT_A, NOV, 70.0, product="hot-metal")  # 429.5 kgce/t > 415
    enter(db, ENT_A, NOV, 50.0)
    env = {"ENERGYMON_DATABASE_URL": db.url}
    when = ["--year", "2026", "--month", "11"]

    mine = run_cli("report", "intensity", "--enterprise", ENT_A, *when, env=env)
    assert mine.returncode == 0, mine.stderr
    assert "product hot-metal" in mine.stdout
    assert "429.4965" in mine.stdout
    assert "over the limit" in mine.stdout

    ranked = run_cli(
        "report", "intensity", *when, "--ranking", "quota_distance", "--format", "csv", env=env
    )
    assert ranked.returncode == 0, ranked.stderr
    rows = list(csv.DictReader(io.StringIO(ranked.stdout)))
    assert [(r["rank"], r["product"]) for r in rows] == [("1", "hot-metal"), ("-", "cold")]

    over = run_cli("report", "intensity", *when, "--violations", env=env)
    assert over.returncode == 0, over.stderr
    assert "quota violations 2026-11: 1" in over.stdout
    assert "GB 21256-2025 4.3, Table 3, grade 3" in over.stdout


def test_report_intensity_mistakes_are_one_line(small_district: DatabaseSettings) -> None:
    env = {"ENERGYMON_DATABASE_URL": small_district.url}
    half = run_cli("report", "intensity", "--year", "2026", env=env)
    assert half.returncode != 0
    assert "Traceback" not in half.stderr
    assert "give both --year and --month" in half.stderr
    unknown = run_cli(
        "report", "intensity", "--enterprise", "nope", "--year", "2026", "--month", "1", env=env
    )
    assert "no active enterprise nope" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) <= 2
