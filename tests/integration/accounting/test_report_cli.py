"""`energymon report tce`: the numbers an officer checks before the API exists, for a range and
per local month."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A
from tests.support.cli import run_cli
from tests.support.feed import feed_counter

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _electricity_tce(line: str) -> float:
    return float(line.split("kWh")[1].split("tce", maxsplit=1)[0].replace(",", ""))


def test_report_tce_for_a_range_and_per_month(small_district: DatabaseSettings) -> None:
    """M-100 (x80 CT) draws 80 kWh a quarter hour from 22:00 on 31 October to 02:00 on
    1 November, Shanghai time: 640 kWh in each local month, 1,280 kWh in the range."""
    feed_counter(small_district, "M-100", datetime(2026, 10, 31, 22, tzinfo=SHANGHAI), 17, 500, 1)
    env = {"ENERGYMON_DATABASE_URL": small_district.url, "ENERGYMON_TIMEZONE": "Asia/Shanghai"}
    args = ("report", "tce", "--enterprise", ENT_A, "--from", "2026-10-01", "--to", "2026-12-01")

    whole = run_cli(*args, env=env)
    assert whole.returncode == 0, whole.stderr
    [line] = [x for x in whole.stdout.splitlines() if x.startswith("electricity")]
    assert "1,280.0 kWh" in line
    assert _electricity_tce(line) == pytest.approx(1280 * 0.1229 / 1000, abs=5e-4)
    assert "factors as of 2026-10-01" in whole.stdout

    monthly = run_cli(*args, "--interval", "1mo", env=env)
    assert monthly.returncode == 0, monthly.stderr
    out = monthly.stdout.splitlines()
    assert [x for x in out if " .. " in x] == [
        "2026-10-01T00:00:00+08:00 .. 2026-11-01T00:00:00+08:00",
        "2026-11-01T00:00:00+08:00 .. 2026-12-01T00:00:00+08:00",
    ]
    lines = [x for x in out if x.startswith("electricity")]
    assert [("640.0 kWh" in x) for x in lines] == [True, True]
    assert [x for x in out if "factors as of" in x][1].endswith("factors as of 2026-11-01")
