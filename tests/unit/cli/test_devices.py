"""`energymon devices check FILE` checks Modbus maps and DL/T 645 maps alike: ok with a summary,
or each problem on one line with exit 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main

COMMON = "services/core/devices/dlt645/maps/dlt645-2007-common.yaml"


def test_the_shipped_dlt645_map_checks_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "check", COMMON]) == 0
    out = capsys.readouterr().out
    assert "ok — DL/T 645 dlt645-2007-common, 30 data identifiers" in out


def test_a_broken_dlt645_map_names_line_and_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "protocol: dlt645\nmodel: m\ntitle: t\nstandard: s\nitems:\n"
        "  - {name: v, di: '02010100', format: XXX.X, unit: V, table: A.1, title: A相电压}\n",
        encoding="utf-8",
    )
    assert main(["devices", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{path}: line 6: items[0] (v): DI 02010100 has DI3 02, table A.1 holds DI3 00"]


def test_a_file_that_is_not_text_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "map.yaml"
    path.write_bytes(b"\xff\xfe")
    assert main(["devices", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{path}: not UTF-8 text (invalid start byte at byte 0)"]
