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


@dataclass(frozen=True, slots=True)
class Quantity:
    code: str
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
            "energy_import_kwh",
            "kWh",
            PointKind.CUMULATIVE,
            "energy",
            0.0,
            _BIG,
            "Cumulative active energy imported (forward), kWh",
        ),
        Quantity(
            "energy_export_kwh",
            "kWh",
            PointKind.CUMULATIVE,
            "energy",
            0.0,
            _BIG,
            "Cumulative active energy exported (reverse), kWh",
        ),
        Quantity(
            "reactive_energy_import_kvarh",
            "kvarh",
            PointKind.CUMULATIVE,
            "reactive_energy",
            0.0,
            _BIG,
            "Cumulative reactive energy imported, kvarh",
        ),
        Quantity(
            "power_kw",
            "kW",
            PointKind.INSTANTANEOUS,
            "power",
            -1e7,
            1e7,
            "Total active power, kW (negative = export)",
        ),
        Quantity(
            "reactive_power_kvar",
            "kvar",
            PointKind.INSTANTANEOUS,
            "reactive_power",
            -1e7,
            1e7,
            "Total reactive power, kvar",
        ),
        Quantity(
            "voltage_v",
            "V",
            PointKind.INSTANTANEOUS,
            "voltage",
            0.0,
            1e6,
            "Phase or line voltage, V",
        ),
        Quantity("current_a", "A", PointKind.INSTANTANEOUS, "current", -1e6, 1e6, "Current, A"),
        Quantity(
            "power_factor", "1", PointKind.INSTANTANEOUS, "ratio", -1.0, 1.0, "Total power factor"
        ),
        Quantity(
            "frequency_hz",
            "Hz",
            PointKind.INSTANTANEOUS,
            "frequency",
            40.0,
            70.0,
            "Grid frequency, Hz",
        ),
        Quantity(
            "gas_volume_m3",
            "m3",
            PointKind.CUMULATIVE,
            "volume",
            0.0,
            _BIG,
            "Cumulative gas volume, m3 (standard conditions where the meter corrects)",
        ),
        Quantity(
            "water_volume_m3",
            "m3",
            PointKind.CUMULATIVE,
            "volume",
            0.0,
            _BIG,
            "Cumulative water volume, m3",
        ),
        Quantity(
            "steam_mass_t", "t", PointKind.CUMULATIVE, "mass", 0.0, _BIG, "Cumulative steam mass, t"
        ),
        Quantity(
            "heat_energy_gj",
            "GJ",
            PointKind.CUMULATIVE,
            "energy",
            0.0,
            _BIG,
            "Cumulative heat energy, GJ",
        ),
        Quantity(
            "fuel_mass_kg",
            "kg",
            PointKind.CUMULATIVE,
            "mass",
            0.0,
            _BIG,
            "Cumulative fuel received or burnt (raw coal, diesel...), kg",
        ),
    )
}


def quantity(code: str) -> Quantity:
    """The quantity named ``code``; raises KeyError with the known codes if unknown."""
    try:
        return QUANTITIES[code]
    except KeyError:
        known = ", ".join(sorted(QUANTITIES))
        raise KeyError(f"unknown point {code!r}; known: {known}") from None
