"""``energymon production``: a file stored whole or refused with every bad row, revisions and
history, locks, and the missing report, through the installed command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.core.db import make_engine
from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.cli import run_cli
from tests.support.production import add_products

TODAY = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
LAST = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
EARLIER = (LAST - timedelta(days=1)).replace(day=1)


@pytest.fixture
def env(small_district: DatabaseSettings) -> dict[str, str]:
    engine = make_engine(small_district)
    add_products(
        engine,
        [(ENT_A, "steel", "crude steel", "t"), (ENT_B, "ice", "ice blocks", "t")],
        registered=datetime(TODAY.year - 1, 1, 1, tzinfo=UTC),
    )
    engine.dispose()
    return {"ENERGYMON_DATABASE_URL": small_district.url}


def _csv(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "production.csv"
    header = "period,product,output,unit,value_added_10k_cny,price_base_year,comment"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_a_file_with_bad_rows_stores_nothing_and_lists_each_by_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    m = f"{EARLIER:%Y-%m}"
    bad = _csv(tmp_path, f"{m},steel,1250,kt,,,", f"{m},,,,830,,", f"{m},steel,1250,t,,,")
    result = run_cli("production", "submit", bad, "--enterprise", ENT_A, "--by", "clerk", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "energymon: error: production.csv: 2 bad rows, nothing stored",
        "  line 2: product steel is entered in t, not kt",
        "  line 3: price_base_year is required with value added and gross output (comparable "
        "prices of a stated base year, e.g. 2020)",
    ]
    listed = run_cli("production", "list", "--enterprise", ENT_A, env=env)
    assert listed.stdout.splitlines()[1:] == []


def test_a_revision_is_listed_with_its_history_and_a_locked_month_refuses(
    env: dict[str, str], tmp_path: Path
) -> None:
    m = f"{EARLIER:%Y-%m}"
    first = _csv(tmp_path, f"{m},steel,1250,t,,,", f"{m},,,,830,2020,")
    ok = run_cli("production", "submit", first, "--enterprise", ENT_A, "--by", "clerk", env=env)
    assert ok.stdout.strip() == "production.csv: 2 created, 0 revised, 0 unchanged", ok.stderr
    again = _csv(tmp_path, f"{m},steel,1310,t,,,")
    revised = run_cli(
        "production", "submit", again, "--enterprise", ENT_A, "--by", "officer",
        "--reason", "weighbridge recount", env=env,
    )  # fmt: skip
    assert revised.stdout.strip() == "production.csv: 0 created, 1 revised, 0 unchanged"
    history = run_cli("production", "history", "--enterprise", ENT_A, env=env).stdout
    assert history.splitlines()[-1].endswith(
        f"{m} revised steel 1250 -> 1310 t by officer (weighbridge recount)"
    )
    lock = ("--enterprise", ENT_A, "--month", m, "--by", "officer")
    assert run_cli("production", "lock", *lock, "--reason", "audited", env=env).returncode == 0
    refused = run_cli("production", "submit", first, "--enterprise", ENT_A, env=env)
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"month {m} is locked (by officer at " in lines[0]
    assert "Traceback" not in refused.stderr
    twice = run_cli("production", "lock", *lock, "--reason", "again", env=env)
    assert f"month {m} is already locked (by officer at " in twice.stderr
    unlocked = run_cli("production", "unlock", *lock, "--reason", "correction", env=env)
    assert unlocked.stdout.strip() == f"{ENT_A} {m}: unlocked by officer"


def test_missing_lists_enterprises_without_the_months_figures(env: dict[str, str]) -> None:
    result = run_cli("production", "missing", "--month", f"{EARLIER:%Y-%m}", env=env)
    assert result.stdout.splitlines() == [
        "enterprise,name,town,month,products_missing,value_added_missing",
        f"{ENT_A},Xiqing Precision Castings Co.,Zhangjiawo,{EARLIER:%Y-%m},steel,true",
        f"{ENT_B},Jingwu Cold Storage Ltd.,Jingwu,{EARLIER:%Y-%m},ice,true",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("production", "list", "--enterprise", "91120111MA00000000"),
         "no enterprise 91120111MA00000000 in the registry"),
        (("production", "lock", "--enterprise", ENT_A, "--month", "2026-13", "--reason", "x"),
         "--month '2026-13' is not a month such as 2026-11"),
        (("production", "submit", "production.pdf", "--enterprise", ENT_A),
         "production.pdf is not a production file"),
    ],
)  # fmt: skip
def test_command_mistakes_are_one_or_two_lines(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert message in result.stderr
