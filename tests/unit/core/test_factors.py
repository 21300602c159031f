"""The factors adapter: a YAML file of dated factors becomes the domain's FactorSet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.core.domain.coefficients import NoFactorError
from services.core.factors import DEFAULT_FILE, default_factors, load_factors

_FILE = """\
standard_coal:
  - {carrier: natural_gas, unit: m3, kgce: 1.2143, valid_from: 2020-01-01,
     source: "GB/T 2589-2020 Annex A,   natural gas (gas field)"}
co2:
  - {carrier: electricity, region: national, unit: MWh, tco2: 0.5306, valid_from: 2023-01-01,
     valid_to: 2023-12-31, source: "2023 national grid average"}
"""


def test_a_factor_file_is_read_with_its_validity_and_source(tmp_path: Path) -> None:
    path = tmp_path / "factors.yaml"
    path.write_text(_FILE, encoding="utf-8")
    factors = load_factors(path)

    gas = factors.kgce("natural_gas", 1000, "m3", date(2024, 5, 1))
    assert gas.value == pytest.approx(1214.3)
    assert gas.factor.source == "GB/T 2589-2020 Annex A, natural gas (gas field)"
    assert factors.tco2("electricity", 2000, "kWh", date(2023, 7, 1)).value == pytest.approx(1.0612)
    with pytest.raises(NoFactorError):
        factors.tco2("electricity", 2000, "kWh", date(2024, 1, 1))


def test_the_shipped_file_is_the_default_and_read_once() -> None:
    assert DEFAULT_FILE.is_file()
    assert default_factors() is default_factors()
    assert default_factors() == load_factors(DEFAULT_FILE)
