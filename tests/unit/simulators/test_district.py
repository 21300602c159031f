"""The demo's simulated district is consistent: its registry file is valid, every episode names
enterprises, sites, gateways, meters and budgets the file registers, and the gateway simulator
started with the district's options publishes the fleet the file registers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from services.core.devices.loader import shipped_maps
from services.core.quotas import default_quotas
from services.core.registry.spec import DistrictSpec, EnterpriseSpec, MeterSpec, parse_district
from simulators.district.episodes import budget_revision, commissioning, late_figures
from simulators.district.layout import (
    SPARKPLUG_DEVICES,
    SPARKPLUG_GROUP,
    SPARKPLUG_NODE,
    District,
    simulator_options,
)
from simulators.gateways.cli import add_parser, config_from
from simulators.gateways.fleet import LOCAL, Fleet, FleetConfig, ReadingStream, build_fleet

YEAR = 2026
NOV = date(2026, 11, 1)


@pytest.fixture(scope="module")
def district() -> District:
    return District.build(seed=2026, budget_year=YEAR).served_on(5123)


def _spec(district: District) -> DistrictSpec:
    return parse_district(district.to_yaml())


def _enterprise(spec: DistrictSpec, code: str) -> EnterpriseSpec:
    (found,) = [e for e in spec.enterprises if e.code == code]
    return found


def _meters(district: District, keep: Callable[[MeterSpec], bool]) -> list[tuple[str, MeterSpec]]:
    """(enterprise code, meter) of the district file's meters that ``keep`` keeps."""
    return [
        (e.code, m)
        for e in _spec(district).enterprises
        for s in e.sites
        for m in s.meters
        if keep(m)
    ]


def test_the_district_file_is_a_valid_registry_of_thirty_enterprises(district: District) -> None:
    spec = _spec(district)
    assert len(spec.enterprises) == 30
    data_centres = [s.code for e in spec.enterprises for s in e.sites if s.kind == "data_centre"]
    assert sorted(data_centres) == ["dc-1", "dc-2", "dc-3", "dc-4", "dc-new"]


def test_the_modbus_meters_are_registered_on_the_port_they_are_served_on(
    district: District,
) -> None:
    modbus = _meters(district, lambda m: m.protocol == "modbus")
    assert {(code, m.code) for code, m in modbus} == {
        (m.enterprise, m.code) for m in district.modbus_meters
    }
    assert {m.connection["port"] for _, m in modbus if m.connection} == {5123}
    assert [m.sim.unit_id for m in district.modbus_meters] == [1, 2, 3, 4, 5, 6]
    maps = shipped_maps()
    for _, meter in modbus:
        assert meter.connection is not None
        device = maps[meter.connection["map"]]
        assert {p.quantity for p in meter.points} <= set(device.fed_points())


def test_the_modbus_meters_stay_out_of_the_alerts_the_district_is_built_to_cause(
    district: District,
) -> None:
    spec = _spec(district)
    for code in {m.enterprise for m in district.modbus_meters}:
        ent = _enterprise(spec, code)
        assert not ent.budgets
        assert all(s.kind == "industrial" for s in ent.sites)
        modbus = [m for s in ent.sites for m in s.meters if m.protocol == "modbus"]
        assert modbus
        assert all(m.role == "sub" for m in modbus)


def test_the_dlt645_meter_is_registered_on_the_port_and_address_it_is_served_on() -> None:
    district = District.build(seed=2026, budget_year=YEAR).served_on(5123, 8123)
    ((code, dl),) = _meters(district, lambda m: m.protocol == "dlt645")
    assert code == district.dlt645_enterprise
    assert dl.connection is not None
    assert dl.connection["port"] == 8123
    assert dl.connection["address"] == district.dlt645.address
    assert {p.quantity for p in dl.points} == set(district.dlt645.data_map.fed_points())


def test_the_sparkplug_meters_bind_every_device_of_the_simulated_edge_node(
    district: District,
) -> None:
    bound = _meters(district, lambda m: bool(m.connection and "sparkplug" in m.connection))
    assert {code for code, _ in bound} == {district.sparkplug_enterprise}
    bindings = {
        (b["group"], b["node"], b["device"]) for _, m in bound if (b := m.connection["sparkplug"])
    }
    assert bindings == {
        (SPARKPLUG_GROUP, SPARKPLUG_NODE, f"meter-{i + 1}") for i in range(SPARKPLUG_DEVICES)
    }


def test_the_field_protocol_meters_stay_out_of_the_alerts_the_district_is_built_to_cause(
    district: District,
) -> None:
    spec = _spec(district)
    for code in (district.dlt645_enterprise, district.sparkplug_enterprise):
        ent = _enterprise(spec, code)
        assert not ent.budgets
        assert not ent.products
        field = [
            m
            for s in ent.sites
            for m in s.meters
            if m.protocol == "dlt645" or (m.connection and "sparkplug" in m.connection)
        ]
        assert field
        assert all(m.role == "sub" for m in field)


def test_the_commissioning_episode_names_a_registered_data_centre_its_gateway_and_meters(
    district: District,
) -> None:
    episode = commissioning(district)
    ent = _enterprise(_spec(district), episode.enterprise)
    (site,) = [s for s in ent.sites if s.code == episode.site]
    assert episode.subject == f"{ent.code}/{site.code}"
    assert episode.resolves.subject == episode.subject
    assert site.kind == "data_centre"
    assert site.dc_class == "new_large"
    assert episode.gateway in {g.code for g in ent.gateways}
    assert sorted(m.code for m in site.meters) == sorted(episode.meter_codes())
    assert {m.gateway for m in site.meters} == {episode.gateway}
    assert {m.interval_s for m in site.meters} == {int(episode.interval.total_seconds())}
    # a healthy site: its PUE ends within its class's limit
    assert episode.pue_limit is not None
    assert episode.pue < episode.pue_limit


def test_the_commissioned_data_centre_is_the_only_cause_of_its_enterprise_alerts(
    district: District,
) -> None:
    """Its enterprise has no other data centre, no budget and no Modbus meters, so every PUE
    alert of it is the episode's."""
    episode = commissioning(district)
    ent = _enterprise(_spec(district), episode.enterprise)
    assert [s.code for s in ent.sites if s.kind == "data_centre"] == [episode.site]
    assert not ent.budgets
    assert not [m for s in ent.sites for m in s.meters if m.protocol == "modbus"]


def test_the_budget_revision_names_a_spent_budget_and_raises_it_beyond_a_year_of_use(
    district: District,
) -> None:
    episode = budget_revision(district)
    assert episode.resolves.enterprise == episode.enterprise
    (budget,) = _enterprise(_spec(district), episode.enterprise).budgets
    assert (budget.year, budget.carrier, budget.unit) == (YEAR, "electricity", "kWh")
    assert budget.amount == episode.before_kwh == 1.0  # spent within the first reading
    ent = next(e for e in district.fleet.enterprises if e.code == episode.enterprise)
    counted_kw = sum(
        m.base
        for g in ent.gateways
        for m in g.meters
        if m.carrier == "electricity" and m.role in ("boundary", "facility_total")
    )
    assert episode.after_kwh > counted_kw * 24 * 366


def test_revising_the_budget_changes_the_file_and_leaves_the_district_it_came_from(
    district: District,
) -> None:
    episode = budget_revision(district)
    revised = episode.apply_to(district)
    (budget,) = _enterprise(_spec(revised), episode.enterprise).budgets
    assert budget.amount == episode.after_kwh
    assert district.budget_amount(episode.enterprise) == episode.before_kwh
    others = [e for e in _spec(revised).enterprises if e.code != episode.enterprise]
    assert others == [e for e in _spec(district).enterprises if e.code != episode.enterprise]


def test_the_gateway_simulator_publishes_the_fleet_the_file_registers(district: District) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    from_options = config_from(
        parser.parse_args(["gateways", *simulator_options(district.fleet.config)])
    )
    assert from_options == replace(district.fleet.config, budget_year=FleetConfig().budget_year)


def test_the_commissioned_gateway_starts_on_an_interval_boundary_after_what_it_published(
    district: District,
) -> None:
    episode = commissioning(district)
    now = datetime(2026, 11, 23, 10, 7, 30, tzinfo=UTC)
    assert episode.first_reading(now, published_until=None) == now.replace(minute=0, second=0)
    earlier = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert episode.first_reading(now, published_until=earlier) == earlier + timedelta(minutes=15)
    stream = episode.stream(now, counters={"DCN-IN": 5000.0, "DCN-IT": 4000.0})
    first = {
        (meter, point): value
        for message in stream.take(1)
        for meter, point, _, value in message.readings
    }
    # each counter carries on from its stored value, by one interval's energy
    facility = first[("DCN-IN", "energy_import_kwh")] - 5000.0
    it = first[("DCN-IT", "energy_import_kwh")] - 4000.0
    assert 0 < it < facility
    assert facility / it == pytest.approx(episode.pue, rel=0.05)


HISTORY_FROM = datetime(2026, 10, 31, 16, tzinfo=UTC)  # 2026-11-01 00:00 in Asia/Shanghai
NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def with_history() -> District:
    return District.build(seed=2026, budget_year=YEAR, history_from=HISTORY_FROM, now=NOW)


def test_the_cement_plants_report_clinker_judged_by_its_quota_standard(
    with_history: District,
) -> None:
    spec = _spec(with_history)
    plants = [i for i, e in enumerate(spec.enterprises) if e.products]
    assert plants == [5, 13, 21, 29]
    for i in plants:
        ent = spec.enterprises[i]
        assert ent.industry == "C30"
        (product,) = ent.products
        assert (product.code, product.unit, product.plant) == ("clinker", "t", "existing")
        assert product.quota is not None
        quota = default_quotas().entry(product.quota.standard, product.quota.product, on=NOV)
        assert quota is not None
        assert quota.unit == "kgce/t"
        (attribution,) = product.attribution
        assert attribution.site in {s.code for s in ent.sites}
        # registered on the history's first day: November's figures are the first owed
        assert product.registered == NOV


def test_the_late_enterprise_is_a_cement_plant(with_history: District) -> None:
    episode = late_figures(with_history, NOV)
    assert episode.resolves.enterprise == episode.enterprise
    assert _enterprise(_spec(with_history), episode.enterprise).products


def test_the_second_budget_lies_between_its_use_with_the_history_and_its_projection(
    with_history: District,
) -> None:
    """With weeks of history, the second enterprise has used less than its budget, and its
    run-rate to the year's end goes beyond it: an early warning, not a breach."""
    fleet = with_history.fleet
    ent = build_fleet(fleet.config).enterprises[1]  # its own counters, not the fixture's
    amount = with_history.budget_amount(ent.code)
    alone = Fleet(fleet.config, [ent])
    stream = ReadingStream(alone, HISTORY_FROM)
    kwh: dict[str, list[float]] = {}
    multiplier = {m.code: m.multiplier for _, _, m in alone.meters()}
    counted = {
        m.code
        for _, _, m in alone.meters()
        if m.carrier == "electricity" and m.role in ("boundary", "facility_total")
    }
    for message in stream.history(NOW, 900):
        for meter, point, _, value in message.readings:
            if meter in counted and point == "energy_import_kwh":
                kwh.setdefault(meter, []).append(value * multiplier[meter])
    used = sum(values[-1] - values[0] for values in kwh.values())
    days_used = (NOW - HISTORY_FROM).total_seconds() / 86400
    days_left = (datetime(2027, 1, 1, tzinfo=LOCAL) - NOW).total_seconds() / 86400
    projected = used + used / days_used * days_left
    assert used < amount * 0.8 < amount < projected * 0.95  # no warning yet, a clear overrun
    # the first enterprise's budget stays spent, the revision still resolves it
    assert with_history.budget_amount(fleet.enterprises[0].code) == 1.0
    assert budget_revision(with_history).after_kwh > used / days_used * 366
