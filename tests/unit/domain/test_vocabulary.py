"""The vocabulary of points and roles: one enum member per quantity, counted sets consistent."""

from __future__ import annotations

from services.core.domain.quantities import (
    COUNTED_QUANTITIES,
    QUANTITIES,
    PointKind,
    QuantityCode,
    quantity,
)
from services.core.domain.roles import COUNTED_ROLES, PUE_ROLES, MeterRole


def test_every_quantity_code_names_exactly_one_quantity() -> None:
    assert set(QUANTITIES) == set(QuantityCode)
    assert all(QUANTITIES[code].code is code for code in QuantityCode)
    assert quantity("energy_import_kwh").unit == "kWh"


def test_only_cumulative_quantities_count_as_consumption_and_export_is_not_one() -> None:
    assert all(QUANTITIES[q].kind is PointKind.CUMULATIVE for q in COUNTED_QUANTITIES)
    assert QuantityCode.ENERGY_IMPORT_KWH in COUNTED_QUANTITIES
    assert QuantityCode.ENERGY_EXPORT_KWH not in COUNTED_QUANTITIES
    assert QuantityCode.REACTIVE_ENERGY_IMPORT_KVARH not in COUNTED_QUANTITIES


def test_a_data_centres_it_load_is_never_added_to_its_consumption() -> None:
    facility, it = PUE_ROLES
    assert facility in COUNTED_ROLES
    assert it not in COUNTED_ROLES
    assert MeterRole.SUB not in COUNTED_ROLES
    assert "boundary" in COUNTED_ROLES  # registry rows hold the plain string
