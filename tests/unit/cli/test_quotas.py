"""`energymon quotas list` shows the quota values in use with their source; `energymon quotas
check FILE` says ok or names each problem with its line and exits 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main


def test_quotas_list_shows_the_three_values_and_their_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["quotas", "list", "--standard", "GB 16780-2021"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "standard",
        "product",
        "unit",
        "限定值",
        "准入值",
        "先进值",
        "from",
        "source",
    ]
    assert lines[1].split()[:8] == [
        "GB", "16780-2021", "cement_clinker", "kgce/t", "117", "107", "100", "2022-11-01",
    ]  # fmt: skip
    assert lines[1].endswith("GB 16780-2021 4.2, Table 2, grade 3 *")
    assert "1 entries, 1 not yet checked against the published standard" in lines[-1]


def test_quotas_list_reads_the_file_the_setting_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.yaml"
    path.write_text('version: "mine"\nentries: []\n', encoding="utf-8")
    monkeypatch.setenv("ENERGYMON_QUOTAS_FILE", str(path))
    assert main(["quotas", "list"]) == 1
    assert capsys.readouterr().out == (
        "no quota entries in quotas version mine; standards in the file: none\n"
    )


def test_quotas_check_says_ok_with_the_count(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = "services/core/data/quotas.yaml"
    assert main(["quotas", "check", shipped]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{shipped}: ok: 4 entries (version ")


def test_quotas_check_prints_one_line_per_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.csv"
    path.write_text("standard,product\nGB 1-2020,a\nGB 1-2020,b\n", encoding="utf-8")
    assert main(["quotas", "check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * 7  # each row misses the same seven required fields
    assert lines[0] == f"{path}: line 2: row 1 (GB 1-2020 a): product_zh is missing"
    assert lines[-1] == f"{path}: line 3: row 2 (GB 1-2020 b): valid_from is missing"


def test_a_bad_quota_file_in_the_setting_is_two_lines_pointing_at_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("version: x\nentries:\n  - standard: GB 1-2020\n    product: a\n")
    monkeypatch.setenv("ENERGYMON_QUOTAS_FILE", str(path))
    assert main(["quotas", "list"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"energymon: error: {path}: line 3: entries[0] (GB 1-2020 a): product_zh is missing "
        "(and 6 more problems)",
        f"  energymon quotas check {path} lists every problem (ENERGYMON_QUOTAS_FILE names the "
        "file)",
    ]
