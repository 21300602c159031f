"""DL/T 645 data identifier maps: the shipped set, and the checker's messages with line numbers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.core.devices.dlt645.loader import check_map, is_dlt645_map, shipped_maps
from services.core.devices.dlt645.values import (
    decode_time,
    decode_value,
    decode_values,
    encode_time,
    encode_value,
)

HEADER = "protocol: dlt645\nmodel: m\ntitle: t\nstandard: s\nitems:\n"
OK = "{name: e, di: '00010000', format: XXXXXX.XX, unit: kWh, table: A.1, title: x}"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_common_set_feeds_the_platform_points_from_the_standard_tables() -> None:
    data_map = shipped_maps()["dlt645-2007-common"]
    fed = data_map.fed_points()
    assert {p: i.di_text for p, i in fed.items()} == {
        "energy_import_kwh": "00010000",
        "energy_export_kwh": "00020000",
        "power_kw": "02030000",
        "voltage_v": "02010100",
        "current_a": "02020100",
        "power_factor": "02060000",
        "frequency_hz": "02800002",
    }
    assert {i.table for i in data_map.items} == {"A.1", "A.3", "A.6"}
    tariffs = [i.di_text for i in data_map.items if "forward_active_energy_tariff" in i.name]
    assert tariffs == ["00010100", "00010200", "00010300", "00010400"]


def test_every_item_of_the_common_set_round_trips() -> None:
    for item in shipped_maps()["dlt645-2007-common"].items:
        if item.format is None:
            when = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
            assert decode_time(encode_time(when), SHANGHAI) == when
            continue
        value = -1.5 if item.format.signed else 1.5
        wire = encode_value(value, item.format)
        assert len(wire) == item.format.length
        if item.block:
            assert decode_values(wire * 5, item.format) == [value] * 5
        else:
            assert decode_value(wire, item.format) == value, item.name


def test_freeze_time_is_minute_first_on_the_wire() -> None:
    wire = bytes.fromhex("30 23 01 12 26")  # 2026-12-01 23:30
    assert decode_time(wire, SHANGHAI) == datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("{name: e, di: 00010000, format: XX.XX, unit: kWh, table: A.1, title: x}", "quote it"),
        ("{name: e, di: '0001000', format: XX.XX, unit: kWh, table: A.1, title: x}", "8 hex"),
        (
            "{name: e, di: '02010100', format: XXX.X, unit: V, table: A.1, title: x}",
            "DI 02010100 has DI3 02, table A.1 holds DI3 00",
        ),
        ("{name: e, di: '00010000', format: XXX.XX, unit: kWh, table: A.1, title: x}", "5 digits"),
        ("{name: e, di: '00010000', format: XXXXXX.XX, table: A.1, title: x}", "missing 'unit'"),
        ("{name: e, di: '00010000', format: X, unit: kWh, table: A.9, title: x}", "table 'A.9'"),
        (
            "{name: e, di: '00010000', format: XXXXXX.XX, unit: V, table: A.1, title: x,"
            " point: energy_import_kwh}",
            "unit 'V' cannot feed energy_import_kwh",
        ),
        (
            "{name: e, di: '05060101', format: XXXXXX.XX, unit: kWh, table: A.6, title: x,"
            " block: true, point: energy_import_kwh}",
            "a data block cannot feed a point",
        ),
        (
            "{name: e, di: '05060001', format: YYMMDDhhmm, unit: kWh, table: A.6, title: x}",
            "has no sign, block, unit or point",
        ),
        ("{name: e, di: '00010000', format: XXXXXX.XX, unit: kWh, table: A.1}", "missing 'title'"),
        (OK.replace("title: x", "title: x, scale: 2"), "unknown key 'scale'"),
    ],
)
def test_the_checker_names_the_line_the_item_and_the_problem(item: str, problem: str) -> None:
    problems = check_map(HEADER + f"  - {OK.replace('00010000', '00020000')}\n  - {item}\n")
    assert problems, item
    assert problems[0].startswith("line 7: items[1] (e)"), problems
    assert any(problem in p for p in problems), problems


def test_duplicate_names_and_identifiers_are_reported() -> None:
    problems = check_map(HEADER + f"  - {OK}\n  - {OK}\n")
    assert problems == [
        "line 7: items[1] (e): the name 'e' is used twice",
        "line 7: items[1] (e): DI 00010000 is already e",
    ]


def test_a_yaml_mistake_names_its_line() -> None:
    problems = check_map(HEADER + "  - {name: e, di: '00010000'\n")
    assert len(problems) == 1
    assert problems[0].startswith("line 7: not valid YAML")


def test_only_files_declaring_the_protocol_are_dlt645_maps() -> None:
    assert is_dlt645_map(HEADER)
    assert not is_dlt645_map("model: eastron-sdm630\nregisters: []\n")
