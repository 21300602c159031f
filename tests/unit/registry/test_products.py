"""Products in the provisioning file: what makes up each product's energy, named without double
counting or sharing a meter out beyond 100 %."""

from __future__ import annotations

import pytest

from services.core.errors import RegistryError
from services.core.registry.spec import parse_district

HEAD = """validate_check_digits: false
enterprises:
  - code: 91120111MA05K8XX3E
    name: A
    industry: C31
    town: T
    sites:
      - code: works
        meters:
          - {code: E1, carrier: electricity, points: [energy_import_kwh]}
          - {code: F1, carrier: electricity, role: sub, sub_of: E1, points: [energy_import_kwh]}
          - {code: ST, carrier: steam, points: [steam_mass_t]}
      - code: office
        meters:
          - {code: DC-IT, carrier: electricity, role: it_load, points: [energy_import_kwh]}
    products:
"""


def _file(*products: str) -> str:
    return HEAD + "".join(f"      - {p}\n" for p in products)


def test_a_product_takes_a_site_and_a_share_of_a_shared_meter() -> None:
    spec = parse_district(
        _file(
            "{code: steel, name: crude steel, unit: t, quota: {standard: GB 21256-2013, "
            "product: converter}, attribution: [{site: works}]}",
            "{code: rolled, name: rolled steel, unit: t, plant: new, "
            "attribution: [{meter: F1, share: 0.6}]}",
        )
    )
    steel, rolled = spec.enterprises[0].products
    assert steel.quota is not None
    assert steel.quota.standard == "GB 21256-2013"
    assert steel.plant == "existing"
    assert steel.electricity_method == "equivalent"
    assert rolled.plant == "new"
    assert rolled.attribution[0].meter == "F1"
    assert rolled.attribution[0].share == 0.6


@pytest.mark.parametrize(
    ("products", "message", "line"),
    [
        (["{code: p, name: P, unit: t, attribution: []}"], "at least 1 item", 17),
        (
            ["{code: p, name: P, unit: t, attribution: [{site: works, meter: E1}]}"],
            "an attribution names either a site or a meter",
            17,
        ),
        (
            ["{code: p, name: P, unit: t, attribution: [{site: nowhere}]}"],
            "product p takes site 'nowhere', which this enterprise does not list",
            17,
        ),
        (
            ["{code: p, name: P, unit: t, attribution: [{site: office}]}"],
            "product p takes site office, which has no boundary meter to count",
            17,
        ),
        (
            ["{code: p, name: P, unit: t, attribution: [{site: works}, {meter: ST}]}"],
            "product p takes meter ST and its whole site works: the meter would count twice",
            17,
        ),
        (
            [
                "{code: p, name: P, unit: t, attribution: [{meter: ST, share: 0.7}]}",
                "{code: q, name: Q, unit: t, attribution: [{meter: ST, share: 0.5}]}",
            ],
            "meter ST is shared out 120% across the products (at most 100 %)",
            18,
        ),
        (
            [
                "{code: p, name: P, unit: t, attribution: [{site: works}]}",
                "{code: p, name: P2, unit: t, attribution: [{meter: E1}]}",
            ],
            "product p is listed twice",
            18,
        ),
        (
            ["{code: p, name: P, unit: t, attribution: [{meter: E1, share: 1.5}]}"],
            "less than or equal to 1",
            17,
        ),
    ],
)
def test_a_bad_product_is_refused_with_its_line(
    products: list[str], message: str, line: int
) -> None:
    with pytest.raises(RegistryError) as err:
        parse_district(_file(*products))
    assert message in str(err.value)
    assert err.value.line == line


COKE = """validate_check_digits: false
enterprises:
  - code: 91120111MA05K8XX3E
    name: A
    industry: C31
    town: T
    sites:
      - code: works
        meters:
          - {code: COG, carrier: coke_oven_gas, points: [gas_volume_m3]}
"""


def test_a_coke_oven_gas_meter_needs_the_enterprises_measured_heating_value() -> None:
    with pytest.raises(RegistryError) as err:
        parse_district(COKE)
    assert "meter COG counts coke_oven_gas, which converts to standard coal only by a measured" in (
        str(err.value)
    )
    assert err.value.line == 10
    spec = parse_district(
        COKE
        + "    heating_values:\n"
        + "      - {carrier: coke_oven_gas, unit: m3, kj_per_unit: 17500, valid_from: 2026-01-01,"
        + " source: works laboratory}\n"
    )
    assert spec.enterprises[0].heating_values[0].kj_per_unit == 17500


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            [
                "{carrier: electricity, unit: kWh, kj_per_unit: 3600, valid_from: 2026-01-01, "
                "source: x}"
            ],
            "electricity has no heating value",
        ),
        (
            [
                "{carrier: coke_oven_gas, unit: m3, kj_per_unit: 17500, valid_from: 2026-01-01, "
                "source: x}",
                "{carrier: coke_oven_gas, unit: m3, kj_per_unit: 17900, valid_from: 2026-06-01, "
                "source: y}",
            ],
            "two measured heating values of coke_oven_gas are valid at once",
        ),
    ],
)
def test_a_bad_heating_value_is_refused(values: list[str], message: str) -> None:
    text = COKE + "    heating_values:\n" + "".join(f"      - {v}\n" for v in values)
    with pytest.raises(RegistryError) as err:
        parse_district(text)
    assert message in str(err.value)
