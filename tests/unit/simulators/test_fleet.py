from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from services.core.domain.uscc import is_valid_uscc
from services.core.registry.spec import parse_district
from simulators.gateways.faults import Faults, inject
from simulators.gateways.fleet import FleetConfig, build_fleet, fleet_to_registry_yaml, messages

START = datetime(2026, 11, 23, tzinfo=UTC)


def _series(config: FleetConfig, steps: int) -> dict[tuple[str, str], list[float]]:
    """Values per (enterprise/meter, point); meter codes repeat across enterprises."""
    out: dict[tuple[str, str], list[float]] = {}
    for m in messages(build_fleet(config), START, steps):
        for meter, point, _ts, value in m.readings:
            out.setdefault((f"{m.enterprise}/{meter}", point), []).append(value)
    return out


def test_the_same_seed_gives_the_same_fleet_and_readings() -> None:
    a = list(messages(build_fleet(FleetConfig(seed=3)), START, 8))
    b = list(messages(build_fleet(FleetConfig(seed=3)), START, 8))
    c = list(messages(build_fleet(FleetConfig(seed=4)), START, 8))
    assert [m.payload for m in a] == [m.payload for m in b]
    assert [m.payload for m in a] != [m.payload for m in c]


def test_counters_never_decrease_and_power_matches_the_counter_increments() -> None:
    config = FleetConfig(seed=5, interval_s=900)
    series = _series(config, 96)
    for (meter, point), values in series.items():
        if point == "energy_import_kwh":
            assert all(b >= a for a, b in itertools.pairwise(values)), meter
            power = series[(meter, "power_kw")]
            # each interval adds power x 0.25 h (raw register units, both before the multiplier)
            for i in range(1, len(values)):
                assert values[i] - values[i - 1] == pytest.approx(power[i] * 0.25, abs=2e-4)


@pytest.mark.parametrize("index", [0, 1])
def test_a_data_centre_runs_at_its_chosen_pue_over_a_day(index: int) -> None:
    config = FleetConfig(seed=9, data_centres=2, dc_pues=(1.32, 1.62))
    series = _series(config, 96)
    by_meter = {k[0].split("/")[1]: v for k, v in series.items() if k[1] == "energy_import_kwh"}
    facility = by_meter[f"DC{index + 1}-IN"]
    it = by_meter[f"DC{index + 1}-IT"]
    assert (facility[-1] - facility[0]) / (it[-1] - it[0]) == pytest.approx(
        config.dc_pues[index], abs=0.01
    )


def test_the_registry_file_is_valid_and_uses_valid_credit_codes() -> None:
    fleet = build_fleet(FleetConfig(seed=2, enterprises=8, data_centres=4))
    spec = parse_district(fleet_to_registry_yaml(fleet))
    assert len(spec.enterprises) == 8
    assert all(is_valid_uscc(e.code) for e in spec.enterprises)
    classes = [s.dc_class for e in spec.enterprises for s in e.sites if s.kind == "data_centre"]
    assert sorted(classes) == ["existing", "existing", "new_large", "new_large"]
    assert {e.town for e in spec.enterprises} >= {"Yangliuqing", "Xinkou", "Zhangjiawo"}


def test_counter_resets_drop_a_counter_to_near_zero() -> None:
    series = _series(FleetConfig(seed=1, reset_rate=0.05), 96)
    drops = sum(
        1
        for (_m, p), v in series.items()
        if p == "energy_import_kwh"
        for a, b in itertools.pairwise(v)
        if b < a
    )
    assert drops > 0


def test_faults_add_duplicates_late_and_malformed_messages_and_lose_nothing() -> None:
    clean = list(messages(build_fleet(FleetConfig(seed=1)), START, 24))
    faulty = list(
        inject(
            messages(build_fleet(FleetConfig(seed=1)), START, 24),
            Faults(duplicate_rate=0.2, late_rate=0.1, malformed_rate=0.1, seed=1),
        )
    )
    valid = [m for m in faulty if m.seq >= 0]
    assert {m.payload for m in valid} == {m.payload for m in clean}  # nothing lost
    assert len(valid) > len(clean)  # duplicates
    assert [m.payload for m in valid] != [m.payload for m in clean]  # reordered
    assert any(m.seq < 0 for m in faulty)  # malformed
    assert list(inject(clean, Faults())) == clean
