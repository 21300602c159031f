"""Device map files: the checker's messages, the read planner, and every shipped map."""

from __future__ import annotations

import pytest

from services.core.devices.codec import decode, encode
from services.core.devices.loader import check_map, load_map, shipped_maps
from services.core.devices.model import DataType, Function
from services.core.devices.planner import plan_reads

HEADER = "model: m\nmanufacturer: x\ntitle: t\ndatasheet: d\n"


def test_the_three_shipped_maps_are_valid_and_feed_energy_and_power() -> None:
    maps = shipped_maps()
    assert set(maps) == {"eastron-sdm630", "schneider-iem3155", "acrel-adl3000"}
    for device in maps.values():
        fed = device.fed_points()
        assert {"energy_import_kwh", "power_kw"} <= set(fed), device.model


@pytest.mark.parametrize("model", ["eastron-sdm630", "schneider-iem3155", "acrel-adl3000"])
def test_every_register_of_every_map_round_trips(model: str) -> None:
    for entry in shipped_maps()[model].registers:
        value = 1234.5 if entry.dtype in (DataType.FLOAT32, DataType.FLOAT64) else 1234.0
        value = value * entry.scale if entry.scale < 1 else value
        assert decode(encode(value, entry), entry) == pytest.approx(value), entry.name


@pytest.mark.parametrize(
    ("registers", "problem"),
    [
        ("  - {name: a, address: 0, type: uint8}", "'uint8' is not a valid DataType"),
        ("  - {name: a, address: 0, type: int32, order: XYZW}", "'XYZW' is not a valid WordOrder"),
        (
            "  - {name: a, address: 0, type: int32}\n  - {name: b, address: 1, type: uint16}",
            "b (holding 1) overlaps a (0..1)",
        ),
        ("  - {name: a, address: 0}\n  - {name: a, address: 5}", "the name 'a' is used twice"),
        ("  - {name: a, address: 65535, type: int32}", "outside 0..65535"),
        ("  - {name: a, address: 0, order: CDAB}", "CDAB means nothing for a one-register"),
        ("  - {name: a, address: 0, point: energy_kwh}", "unknown point 'energy_kwh'"),
        (
            "  - {name: a, address: 0, unit: m3, point: energy_import_kwh}",
            "unit 'm3' cannot feed energy_import_kwh",
        ),
        ("  - {address: 0}", "missing 'name'"),
    ],
)
def test_the_checker_names_the_register_and_the_problem(registers: str, problem: str) -> None:
    problems = check_map(HEADER + "registers:\n" + registers + "\n")
    assert any(problem in p for p in problems), problems


def test_reads_are_coalesced_across_small_gaps_but_not_across_rejected_registers() -> None:
    text = (
        HEADER
        + """defaults: {function: input, type: float32}
registers:
  - {name: a, address: 0}
  - {name: b, address: 2}
  - {name: c, address: 10}
  - {name: d, address: 52}
  - {name: e, address: 200, function: holding, type: uint16}
rejects: [{function: input, start: 20, end: 30}]
"""
    )
    blocks = plan_reads(load_map(text), max_gap=16)
    assert [(b.function, b.start, b.count) for b in blocks] == [
        (Function.HOLDING, 200, 1),
        (Function.INPUT, 0, 12),
        (Function.INPUT, 52, 2),
    ]
    assert [(e.name, off) for e, off in blocks[1].entries] == [("a", 0), ("b", 2), ("c", 10)]
    # with a large gap allowance the rejected range still splits the read
    wide = plan_reads(load_map(text), max_gap=100)
    assert [(b.start, b.count) for b in wide if b.function == Function.INPUT] == [(0, 12), (52, 2)]


def test_a_read_never_exceeds_125_registers() -> None:
    regs = "\n".join(f"  - {{name: r{i}, address: {i * 2}}}" for i in range(100))
    blocks = plan_reads(load_map(HEADER + "defaults: {type: float32}\nregisters:\n" + regs))
    assert max(b.count for b in blocks) <= 125
    assert sum(len(b.entries) for b in blocks) == 100


def test_the_sdm630_is_read_in_three_requests() -> None:
    blocks = plan_reads(shipped_maps()["eastron-sdm630"])
    assert [(b.start, b.count) for b in blocks] == [(0x0000, 18), (0x0034, 26), (0x0156, 2)]
