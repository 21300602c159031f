"""The validation rules, case by case, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.core.pipeline.index import MeterEntry, PointEntry, RegistryIndex
from services.core.pipeline.model import Batch, InboundMessage, Reading
from services.core.pipeline.reading import encode_readings
from services.core.pipeline.validate import Limits, validate_message

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
INDEX = RegistryIndex(
    meters={
        ("E1", "M1"): MeterEntry(
            1,
            "gw",
            {
                "energy_import_kwh": PointEntry(10, "kWh", 0, 1e12),
                "power_kw": PointEntry(11, "kW", -1e4, 1e4),
                "heat_energy_gj": PointEntry(12, "GJ", 0, 1e12),
            },
        ),
    },
    gateways={("E1", "gw"): 7},
    enterprises=frozenset({"E1"}),
    meter_owners={"M1": frozenset({"E1"})},
)


def _run(readings: list[object], **kw: object) -> Batch:
    batch = Batch()
    msg = InboundMessage("mqtt", "t", "E1", "gw", orjson.dumps({"readings": readings, **kw}), NOW)
    validate_message(msg, INDEX, Limits(), batch)
    return batch


def _one(**reading: object) -> Batch:
    return _run(
        [
            {
                "meter": "M1",
                "point": "energy_import_kwh",
                "ts": NOW.isoformat(),
                "value": 1.0,
                **reading,
            }
        ]
    )


@pytest.mark.parametrize(
    ("point", "unit", "value", "stored"),
    [
        ("energy_import_kwh", "Wh", 1500, 1.5),
        ("energy_import_kwh", "MWh", 2, 2000.0),
        ("energy_import_kwh", "kWh", 7, 7.0),
        ("power_kw", "W", 2500, 2.5),
        ("power_kw", "MW", 1.5, 1500.0),
        ("heat_energy_gj", "MJ", 250, 0.25),
        ("heat_energy_gj", "kWh", 1000, 3.6),
    ],
)
def test_compatible_units_are_converted_to_the_points_unit(
    point: str, unit: str, value: float, stored: float
) -> None:
    batch = _one(point=point, unit=unit, value=value)
    assert batch.dead_letters == []
    assert batch.rows[0][2] == pytest.approx(stored)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-23T08:15:00+08:00", datetime(2026, 11, 23, 0, 15, tzinfo=UTC)),
        ("2026-11-23T00:15:00Z", datetime(2026, 11, 23, 0, 15, tzinfo=UTC)),
        (1_763_857_800_000, datetime(2025, 11, 23, 0, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_with_offset_or_epoch_milliseconds_are_stored_in_utc(
    ts: object, expected: datetime
) -> None:
    batch = _one(ts=ts)
    assert batch.dead_letters == []
    assert batch.rows[0][1] == expected
    assert batch.rows[0][1].utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        ({"ts": "2026-11-23T08:15:00"}, "invalid_timestamp"),
        ({"ts": 1_763_857_800}, "invalid_timestamp"),  # seconds, not milliseconds
        ({"ts": (NOW + timedelta(seconds=301)).isoformat()}, "timestamp_in_future"),
        ({"ts": (NOW - timedelta(days=1826)).isoformat()}, "timestamp_too_old"),
        ({"value": True}, "invalid_reading"),
        ({"value": -1}, "value_out_of_range"),
        ({"unit": "kW"}, "incompatible_unit"),
        ({"unit": "furlong"}, "incompatible_unit"),
        ({"meter": "M2"}, "unknown_meter"),
        ({"point": "water_volume_m3"}, "unknown_point"),
        ({"meter": 5}, "invalid_reading"),
    ],
)
def test_each_rule_rejects_with_its_reason(reading: dict[str, object], reason: str) -> None:
    batch = _one(**reading)
    assert batch.rows == []
    assert [d.reason.value for d in batch.dead_letters] == [reason]
    assert batch.dead_letters[0].reading_index == 0


def test_a_reading_exactly_at_the_skew_limit_is_accepted() -> None:
    assert _one(ts=(NOW + timedelta(seconds=300)).isoformat()).dead_letters == []


def test_one_bad_reading_does_not_cost_its_neighbours() -> None:
    good = {"meter": "M1", "point": "power_kw", "ts": NOW.isoformat(), "value": 3}
    batch = _run([good, {"meter": "M1"}, dict(good, value=4, ts="2026-11-23T00:00:00Z")], seq=3)
    assert [r[2] for r in batch.rows] == [3.0, 4.0]
    assert [d.reading_index for d in batch.dead_letters] == [1]
    assert batch.gateways[7].seqs == [3]


def test_sequence_numbers_are_kept_per_gateway_in_arrival_order() -> None:
    batch = Batch()
    for seq, dup in ((7, False), (5, False), (7, True)):
        msg = InboundMessage(
            "mqtt", "t", "E1", "gw", orjson.dumps({"seq": seq, "readings": []}), NOW, dup=dup
        )
        validate_message(msg, INDEX, Limits(), batch)
    assert batch.gateways[7].seqs == [7, 5, 7]


@pytest.mark.parametrize(
    "reading",
    [
        {"meter": "M1", "point": "energy_import_kwh", "value": 12.5},
        {"meter": "M1", "point": "power_kw", "value": 2500, "unit": "W"},
        {"meter": "M1", "point": "power_kw", "value": 1, "unit": "m3"},
        {"meter": "M1", "point": "power_kw", "value": 2e4},
        {"meter": "M1", "point": "power_kw", "value": float("nan")},
        {"meter": "M2", "point": "power_kw", "value": 1},
        {"meter": "M1", "point": "gas_volume_m3", "value": 1},
        {"meter": "M1", "point": "power_kw", "value": 1, "ts": NOW + timedelta(hours=1)},
    ],
)
def test_typed_readings_are_validated_exactly_like_their_json(reading: dict[str, object]) -> None:
    """Modbus hands over typed readings, MQTT and HTTP JSON: one set of rules decides both."""
    ts = reading.pop("ts", NOW)
    assert isinstance(ts, datetime)
    typed = Reading(ts=ts, **reading)  # type: ignore[arg-type]
    from_json = Batch()
    validate_message(
        InboundMessage("modbus", None, "E1", None, encode_readings([typed]), NOW),
        INDEX,
        Limits(),
        from_json,
    )
    from_typed = Batch()
    validate_message(
        InboundMessage("modbus", None, "E1", None, b"", NOW, readings=(typed,)),
        INDEX,
        Limits(),
        from_typed,
    )
    assert from_typed.rows == from_json.rows
    assert [(d.reason, d.detail, d.reading_index) for d in from_typed.dead_letters] == [
        (d.reason, d.detail, d.reading_index) for d in from_json.dead_letters
    ]
    # a typed reading's dead letter keeps it as the JSON a gateway would have sent
    assert {d.payload for d in from_typed.dead_letters} <= {encode_readings([typed])}
