"""The quotas adapter: a YAML or CSV quota file becomes the domain's QuotaSet, and every problem of
a bad file is reported with its line, without losing the others."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.core.domain.quota import PlantStatus, QuotaVerdict, judge
from services.core.errors import QuotaFileError
from services.core.quotas import (
    DEFAULT_FILE,
    FIELDS,
    configured_quotas,
    default_quotas,
    load_quotas,
    read_quotas,
)

_YAML = """\
version: "test-1"
entries:
  - standard: GB 16780-2021
    product: cement_clinker
    product_zh: 水泥熟料
    product_en: cement clinker
    indicator_zh: 熟料单位产品综合能耗
    indicator_en: clinker comprehensive energy
    boundary: clinker production
    unit: kgce/t
    limit_value: 117
    limit_source: GB 16780-2021 4.2, Table 2, grade 3
    entry_value: 107
    entry_source: GB 16780-2021 4.2, Table 2, grade 2
    valid_from: 2022-11-01
    verified: false
"""

_CSV_HEADER = ",".join(FIELDS)


def _csv_row(**values: str) -> str:
    return ",".join(values.get(name, "") for name in FIELDS)


_GOOD_ROW = {
    "standard": "GB 21256-2025",
    "product": "steel_converter",
    "product_zh": "转炉工序",
    "product_en": "converter",
    "indicator_zh": "转炉工序单位产品能耗",
    "indicator_en": "converter energy",
    "boundary": "converter process",
    "unit": "kgce/t",
    "limit_value": "-12",
    "limit_source": "GB 21256-2025 4.4 Table 4 grade 3",
    "advanced_value": "-30",
    "advanced_source": "GB 21256-2025 4.4 Table 4 grade 1",
    "valid_from": "2026-07-01",
    "verified": "false",
}


def test_a_yaml_quota_file_is_read_with_its_version_and_sources(tmp_path: Path) -> None:
    path = tmp_path / "quotas.yaml"
    path.write_text(_YAML, encoding="utf-8")
    quotas = load_quotas(path)
    assert quotas.version == "test-1"
    entry = quotas.entry("GB 16780", "cement_clinker", date(2024, 1, 1))
    assert entry is not None
    assert (entry.limit_value, entry.entry_value, entry.advanced_value) == (117.0, 107.0, None)
    assert entry.limit_source == "GB 16780-2021 4.2, Table 2, grade 3"
    assert not entry.verified


def test_a_csv_quota_file_with_a_header_row_reads_the_same_fields(tmp_path: Path) -> None:
    path = tmp_path / "quotas.csv"
    path.write_text(f"{_CSV_HEADER}\n{_csv_row(**_GOOD_ROW)}\n", encoding="utf-8")
    quotas = load_quotas(path)
    assert quotas.version == "quotas.csv"
    entry = quotas.entry("GB 21256-2025", "steel_converter", date(2026, 7, 1))
    assert entry is not None
    assert (entry.limit_value, entry.entry_value, entry.advanced_value) == (-12.0, None, -30.0)
    assert judge(-10.0, entry, PlantStatus.EXISTING, sufficient=True).verdict is (
        QuotaVerdict.OVER_LIMIT
    )


def test_every_problem_of_a_yaml_file_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = _YAML.replace("entry_value: 107", "entry_value: 120").replace(
        "valid_from: 2022-11-01", "valid_from: 2022-11-01\n    colour: red"
    )
    bad += _YAML.split("entries:\n", 1)[1].replace("limit_value: 117", "limit_value: lots")
    path = tmp_path / "quotas.yaml"
    path.write_text(bad, encoding="utf-8")
    quotas, problems = read_quotas(path)
    assert quotas is None
    assert problems == [
        "line 16: entries[0] (GB 16780-2021 cement_clinker): unknown field 'colour'",
        "line 26: entries[1] (GB 16780-2021 cement_clinker): limit_value: expected a number, "
        "got 'lots'",
    ]
    path.write_text(_YAML.replace("entry_value: 107", "entry_value: 120"), encoding="utf-8")
    _, problems = read_quotas(path)
    assert problems == [
        "line 3: entries[0] (GB 16780-2021 cement_clinker): entry_value 120 > limit_value 117 "
        "(lower is better: 准入值 <= 限定值)"
    ]


def test_a_csv_file_reports_the_line_of_each_bad_row_and_duplicates(tmp_path: Path) -> None:
    rows = [
        _csv_row(**_GOOD_ROW),
        _csv_row(**{**_GOOD_ROW, "unit": "kgce/piece", "product": "other"}),
        _csv_row(**{**_GOOD_ROW, "valid_from": ""}),
        _csv_row(**_GOOD_ROW),
    ]
    path = tmp_path / "quotas.csv"
    path.write_text("\n".join([_CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(QuotaFileError) as caught:
        load_quotas(path)
    assert caught.value.problems == (
        "line 3: row 2 (GB 21256-2025 other): unit 'kgce/piece' unknown; known: gce/kWh, "
        "kWh/t, kgce/t, kgoe/t",
        "line 4: row 3 (GB 21256-2025 steel_converter): valid_from is missing",
        "line 5: row 4 (GB 21256-2025 steel_converter): duplicate of line 2 (same standard, "
        "product and valid_from)",
    )
    assert str(caught.value).endswith("(and 2 more problems)")


def test_a_csv_file_with_an_unknown_column_is_refused_at_its_header(tmp_path: Path) -> None:
    path = tmp_path / "quotas.csv"
    path.write_text("standard,colour\nGB 1-2020,red\n", encoding="utf-8")
    _, problems = read_quotas(path)
    assert len(problems) == 1
    assert problems[0].startswith("line 1: unknown column(s) colour; known: standard, product")


def test_the_shipped_file_is_valid_cited_and_read_once() -> None:
    assert DEFAULT_FILE.is_file()
    assert default_quotas() is default_quotas()
    assert configured_quotas(None) is default_quotas()
    for entry in default_quotas().entries():
        assert entry.transcribed_from
        assert entry.limit_source.startswith(entry.standard)
        assert not entry.verified  # only third-party transcriptions were available
