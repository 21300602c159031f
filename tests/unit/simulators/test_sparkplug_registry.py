"""The Sparkplug simulator's registry snippet loads as a provisioning file."""

from __future__ import annotations

import textwrap

from services.core.registry.sparkplug import binding_of
from services.core.registry.spec import parse_district
from simulators.sparkplug.cli import registry_yaml


def test_the_printed_bindings_load_and_bind_every_device():
    meters = textwrap.indent(registry_yaml("plant-1", "edge-1", 2), " " * 10)
    text = f"""
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
{meters}"""
    spec = parse_district(text)
    bindings = [binding_of(m.connection) for m in spec.enterprises[0].sites[0].meters]
    assert [(b.device, sorted(b.metrics)) for b in bindings if b] == [
        ("meter-1", ["Energy/Import", "Power"]),
        ("meter-2", ["Energy/Import", "Power"]),
    ]
