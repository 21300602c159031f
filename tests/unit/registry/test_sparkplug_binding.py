"""A meter's Sparkplug binding is checked when the provisioning file is loaded."""

from __future__ import annotations

import pytest

from services.core.errors import RegistryError
from services.core.registry.spec import parse_district

_FILE = """
validate_check_digits: false
enterprises:
  - code: 91120111MA05K8XX3E
    name: Works
    industry: C33
    town: Zhangjiawo
    sites:
      - code: plant-1
        kind: industrial
        meters:
          - code: SP-1
            carrier: electricity
            protocol: {protocol}
            points: [energy_import_kwh, power_kw]
            connection:
              sparkplug:
                group: {group}
                node: edge-1
                metrics: {metrics}
"""


def _parse(protocol="mqtt", group="plant", metrics='{"E": {point: energy_import_kwh, unit: Wh}}'):
    return parse_district(_FILE.format(protocol=protocol, group=group, metrics=metrics))


def test_a_binding_with_a_point_of_the_meter_and_a_convertible_unit_loads():
    spec = _parse()
    meter = spec.enterprises[0].sites[0].meters[0]
    assert meter.connection is not None
    assert meter.connection["sparkplug"]["metrics"]["E"]["unit"] == "Wh"


def test_the_short_form_names_only_the_point():
    _parse(metrics='{"P": power_kw}')


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": '{"E": gas_volume_m3}'}, "which the meter lacks"),
        ({"metrics": '{"E": {point: energy_import_kwh, unit: m3}}'}, "cannot be converted"),
        ({"group": "'a/b'"}, "topic level"),
        ({"protocol": "http"}, "protocol: mqtt"),
        ({"metrics": "{}"}, "metrics"),
    ],
)
def test_a_bad_binding_is_refused_with_its_reason(kwargs, message):
    with pytest.raises(RegistryError, match=message):
        _parse(**kwargs)
