"""``sub_of`` in the provisioning file: a parent the enterprise lists, of the same carrier and
quantity, and no cycles."""

from __future__ import annotations

import pytest

from services.core.errors import RegistryError
from services.core.registry.spec import parse_district

HEAD = """validate_check_digits: false
enterprises:
  - code: 91120111MA05K8XX3E
    name: A
    industry: C33
    town: T
    sites:
      - code: s1
        meters:
"""


def _file(*meters: str) -> str:
    return HEAD + "".join(f"          - {m}\n" for m in meters)


IN = "{code: IN, carrier: electricity, points: [energy_import_kwh]}"


def test_a_sub_meter_names_its_parent_even_one_listed_after_it() -> None:
    spec = parse_district(
        _file(
            "{code: F1, carrier: electricity, role: sub, sub_of: IN, points: [energy_import_kwh]}",
            IN,
        )
    )
    meters = {m.code: m.sub_of for m in spec.enterprises[0].sites[0].meters}
    assert meters == {"F1": "IN", "IN": None}


@pytest.mark.parametrize(
    ("meters", "message"),
    [
        (
            ["{code: F1, carrier: electricity, sub_of: NOPE, points: [energy_import_kwh]}"],
            "meter F1 is sub_of 'NOPE', which this enterprise does not list",
        ),
        (
            [IN, "{code: G1, carrier: natural_gas, sub_of: IN, points: [gas_volume_m3]}"],
            "meter G1 (natural_gas) cannot be a sub-meter of IN (electricity)",
        ),
        (
            [IN, "{code: P1, carrier: electricity, sub_of: IN, points: [power_kw]}"],
            "meter P1 and its parent IN share no cumulative point",
        ),
        (
            [
                "{code: A, carrier: electricity, sub_of: B, points: [energy_import_kwh]}",
                "{code: B, carrier: electricity, sub_of: A, points: [energy_import_kwh]}",
            ],
            "sub_of forms a cycle: A -> B -> A",
        ),
        (
            ["{code: A, carrier: electricity, sub_of: A, points: [energy_import_kwh]}"],
            "sub_of forms a cycle: A -> A",
        ),
    ],
)
def test_a_wrong_sub_of_is_refused_with_the_reason(meters: list[str], message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_district(_file(*meters))
