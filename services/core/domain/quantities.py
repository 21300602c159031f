"""The vocabulary of points: which quantity a meter measures, its unit, kind and plausible range.

A *cumulative* quantity is a register that only grows (energy, volume, mass); consumption is derived
from its differences. An *instantaneous* quantity is a sample (power, voltage). Plausible ranges are
defaults a registry point may narrow; readings outside them are rejected at ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class PointKind(StrEnum):
    CUMULATIVE = "cumulative"
    INSTANTANEOUS = "instantaneous"


class Carrier(StrEnum):
    """Energy carriers (and water), named as in GB/T 2589-2020's coefficient table."""

    ELECTRICITY = "electricity"
    NATURAL_GAS = "natural_gas"
    WATER = "water"
    STEAM = "steam"
    HEAT = "heat"
    RAW_COAL = "raw_coal"
    DIESEL = "diesel"
    GASOLINE = "gasoline"
    LPG = "lpg"
    COKE_OVEN_GAS = "coke_oven_gas"


MEASURED_ONLY_CARRIERS: Final[frozenset[Carrier]] = frozenset({Carrier.COKE_OVEN_GAS})
"""Carriers whose heating value varies too much from plant to plant for a shipped reference
coefficient: they convert to standard coal only by the enterprise's measured low calorific value
(the registry's ``heating_values``)."""


class QuantityCode(StrEnum):
    """The code of each quantity a point may measure, as registries and gateways spell it."""

    ENERGY_IMPORT_KWH = "energy_import_kwh"
    ENERGY_EXPORT_KWH = "energy_export_kwh"
    REACTIVE_ENERGY_IMPORT_KVARH = "reactive_energy_import_kvarh"
    POWER_KW = "power_kw"
    REACTIVE_POWER_KVAR = "reactive_power_kvar"
    VOLTAGE_V = "voltage_v"
    CURRENT_A = "current_a"
    POWER_FACTOR = "power_factor"
    FREQUENCY_HZ = "frequency_hz"
    GAS_VOLUME_M3 = "gas_volume_m3"
    WATER_VOLUME_M3 = "water_volume_m3"
    STEAM_MASS_T = "steam_mass_t"
    HEAT_ENERGY_GJ = "heat_energy_gj"
    FUEL_MASS_KG = "fuel_mass_kg"


@dataclass(frozen=True, slots=True)
class Quantity:
    code: QuantityCode
    unit: str
    kind: PointKind
    dimension: str
    min_value: float
    max_value: float
    description: str


_BIG: Final = 1e12

QUANTITIES: Final[dict[str, Quantity]] = {
    q.code: q
    for q in (
        Quantity(
            QuantityCode.ENERGY_IMPORT_KWH,
            "kWh",
            PointKind.CUMULATIVE,
            "energy",
            0.0,
            _BIG,
            "Cumulative active energy imported (forward), kWh",
        ),
        Quantity(
            QuantityCode.ENERGY_EXPORT_KWH,
            "kWh",
            PointKind.CUMULATIVE,
            "energy",
            0.0,
            _BIG,
            "Cumulative active energy exported (reverse), kWh",
        ),
        Quantity(
            QuantityCode.REACTIVE_ENERGY_IMPORT_KVARH,
            "kvarh",
            PointKind.CUMULATIVE,
            "reactive_energy",
            0.0,
            _BIG,
            "Cumulative reactive energy imported, kvarh",
        ),
        Quantity(
            QuantityCode.POWER_KW,
            "kW",
            PointKind.INSTANTANEOUS,
            "power",
            -1e7,
            1e7,
            "Total active power, kW (negative = export)",
        ),
        Quantity(
            QuantityCode.REACTIVE_POWER_KVAR,
            "kvar",
            PointKind.INSTANTANEOUS,
            "reactive_power",
            -1e7,
            1e7,
            "Total reactive power, kvar",
        ),
        Quantity(
            QuantityCode.VOLTAGE_V,
            "V",
            PointKind.INSTANTANEOUS,
            "voltage",
            0.0,
            1e6,
            "Phase or line voltage, V",
        ),
        Quantity(
            QuantityCode.CURRENT_A, "A", PointKind.INSTANTANEOUS, "current", -1e6, 1e6, "Current, A"
        ),
        Quantity(
            QuantityCode.POWER_FACTOR,
            "1",
            PointKind.INSTANTANEOUS,
            "ratio",
            -1.0,
            1.0,
            "Total power factor",
        ),
        Quantity(
            QuantityCode.FREQUENCY_HZ,
            "Hz",
            PointKind.INSTANTANEOUS,
            "frequency",
            40.0,
            70.0,
            "Grid frequency, Hz",
        ),
        Quantity(
            QuantityCode.GAS_VOLUME_M3,
            "m3",
            PointKind.CUMULATIVE,
            "volume",
            0.0,
            _BIG,
            "Cumulative gas volume, m3 (standard conditions where the meter corrects)",
        ),
        Quantity(
            QuantityCode.WATER_VOLUME_M3,
            "m3",
            PointKind.CUMULATIVE,
            "volume",
            0.0,
            _BIG,
            "Cumulative water volume, m3",
        ),
        Quantity(
            QuantityCode.STEAM_MASS_T,
            "t",
            PointKind.CUMULATIVE,
            "mass",
            0.0,
            _BIG,
            "Cumulative steam mass, t",
        ),
        Quantity(
            QuantityCode.HEAT_ENERGY_GJ,
            "GJ",
            PointKind.CUMULATIVE,
            "energy",
            0.0,
            _BIG,
            "Cumulative heat energy, GJ",
        ),
        Quantity(
            QuantityCode.FUEL_MASS_KG,
            "kg",
            PointKind.CUMULATIVE,
            "mass",
            0.0,
            _BIG,
            "Cumulative fuel received or burnt (raw coal, diesel...), kg",
        ),
    )
}

COUNTED_QUANTITIES: Final[tuple[QuantityCode, ...]] = (
    QuantityCode.ENERGY_IMPORT_KWH,
    QuantityCode.GAS_VOLUME_M3,
    QuantityCode.STEAM_MASS_T,
    QuantityCode.HEAT_ENERGY_GJ,
    QuantityCode.WATER_VOLUME_M3,
    QuantityCode.FUEL_MASS_KG,
)
"""The cumulative quantities whose rise is energy (or water) used; exported and reactive energy
are not."""


def quantity(code: str) -> Quantity:
    """The quantity named ``code``; raises KeyError with the known codes if unknown."""
    try:
        return QUANTITIES[code]
    except KeyError:
        known = ", ".join(sorted(QUANTITIES))
        raise KeyError(f"unknown point {code!r}; known: {known}") from None


def known_point(code: str) -> str:
    """``code`` itself when it names a point of the vocabulary; ValueError listing them if not
    (for validators of the provisioning file)."""
    if code not in QUANTITIES:
        raise ValueError(f"unknown point {code!r}; known: {', '.join(sorted(QUANTITIES))}")
    return code
