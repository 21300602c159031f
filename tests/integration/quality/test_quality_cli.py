"""`energymon report quality`: the district ranked worst first, an enterprise's findings, CSV and
XLSX, and one-line errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.cli import run_cli
from tests.support.quality_scene import seed_quality_day


def _env(db: DatabaseSettings) -> dict[str, str]:
    return {"ENERGYMON_DATABASE_URL": db.url, "ENERGYMON_TIMEZONE": "Asia/Shanghai"}


def test_the_district_is_ranked_worst_first_and_an_enterprise_lists_its_findings(
    small_district: DatabaseSettings, tmp_path: Path
) -> None:
    seed_quality_day(small_district)
    env = _env(small_district)
    district = run_cli("report", "quality", "--day", "2026-11-17", env=env)
    assert district.returncode == 0, district.stderr
    ranking = [line.split()[1] for line in district.stdout.splitlines()[2:]]
    assert ranking == [ENT_A, ENT_B]

    one = run_cli("report", "quality", "--day", "2026-11-17", "--enterprise", ENT_A, env=env)
    assert one.returncode == 0, one.stderr
    assert "silent meter dc-1/DC-IT-1 since 2026-11-17T12:00:00+08:00" in one.stdout
    assert "silent meter plant-1/G-1 since never reported" in one.stdout
    assert (
        "balance 2026-11-17 M-100 7680.000 kWh against sub-meters F-1+F-2 7200.000 kWh: +6.25%"
        in one.stdout
    )
    conflict = "conflicting re-send M-100/energy_import_kwh at 2026-11-17T10:00:00+08:00"
    assert f"{conflict}: kept 1040.0, re-sent 99.0 (mqtt, " in one.stdout
    assert "dead letters unknown_meter: 1" in one.stdout

    as_csv = run_cli(
        "report", "quality", "--month", "2026-11", "--enterprise", ENT_A, "--format", "csv", env=env
    )
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert ["Summary", "period", "2026-11"] in rows
    verdicts = {r[1]: r[10] for r in rows if r[0] == "Balance"}  # day -> verdict
    assert len(verdicts) == 30
    assert verdicts["2026-11-16"] == "no_consumption"  # before the meters' first reading
    assert verdicts["2026-11-17"] == "deviation"
    assert verdicts["2026-11-18"] == "insufficient_data"  # commissioned, then nothing arrived
    target = tmp_path / "q.xlsx"
    xlsx = run_cli(
        "report", "quality", "--day", "2026-11-17", "--format", "xlsx", "-o", str(target), env=env
    )
    assert xlsx.returncode == 0, xlsx.stderr
    assert load_workbook(target).sheetnames[0] == "Enterprises"


def test_errors_are_one_clear_line(small_district: DatabaseSettings) -> None:
    env = _env(small_district)
    cases = [
        (("--day", "2026-11-31"), "'2026-11-31' is neither a day (YYYY-MM-DD) nor a month"),
        (("--day", "2026-11-17", "--enterprise", "91120111MA99Z9ZZ9Z"), "no active enterprise"),
        (("--day", "2026-11-17", "--format", "xlsx"), "--format xlsx writes a file"),
        (("--day", "2026-11"), "--day takes YYYY-MM-DD, --month YYYY-MM (not 2026-11)"),
        (("--month", "2026-11-17"), "--day takes YYYY-MM-DD, --month YYYY-MM (not 2026-11-17)"),
    ]
    for args, message in cases:
        result = run_cli("report", "quality", *args, env=env)
        assert result.returncode == 2, result.stdout
        [line] = result.stderr.splitlines()
        assert line.startswith("energymon: error: ")
        assert message in line
