"""Host values become readings of the bound meters; unbound ones keep names that validation
dead-letters with the usual reasons."""

from __future__ import annotations

from datetime import UTC, datetime

from services.core.sparkplug.host import Value
from services.core.sparkplug.mapping import SparkplugMapping, Target, to_message

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
MAPPING = SparkplugMapping(
    targets={("g", "n", "m1", "kWh"): Target("M-1", "energy_import_kwh", "Wh")},
    devices={("g", "n", "m1"): "M-1"},
    nodes={("g", "n"): "ENT"},
)


def test_bound_unbound_and_untimed_values():
    values = [
        Value("m1", "kWh", 1_764_633_600_000, 5.0, False),
        Value("m1", "Voltage", 1_764_633_600_000, 230.0, False),
        Value("m9", "kWh", None, 1.0, True),
        Value("m1", "kWh", 12, 1.0, False),  # 1970: left out
    ]
    message, bad_ts = to_message(MAPPING, ("g", "n"), "spBv1.0/g/DDATA/n/m1", values, NOW)
    assert bad_ts == 1
    assert message is not None
    assert message.enterprise_code == "ENT"
    assert message.gateway_code is None
    got = [(r.meter, r.point, r.unit, r.ts) for r in message.readings or ()]
    assert got == [
        ("M-1", "energy_import_kwh", "Wh", datetime(2025, 12, 2, tzinfo=UTC)),
        ("M-1", "Voltage", None, datetime(2025, 12, 2, tzinfo=UTC)),  # -> unknown_point
        ("m9", "kWh", None, NOW),  # -> unknown_meter
    ]


def test_an_unbound_node_has_no_enterprise():
    message, _ = to_message(MAPPING, ("g", "other"), "t", [Value(None, "x", None, 1.0, False)], NOW)
    assert message is not None
    assert message.enterprise_code is None  # -> unknown_enterprise, whole message
