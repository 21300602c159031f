"""Units of measure and conversion between compatible units.

A reading may carry its own unit; it is converted to the quantity's canonical unit when both share a
dimension (Wh -> kWh, MW -> kW, MJ -> GJ ...) and rejected otherwise. Unit symbols are matched
exactly (``MWh`` is mega, ``mWh`` would be milli and is not accepted) with a few spelled-out
aliases.
"""

from __future__ import annotations

from typing import Final

from services.core.errors import UnitError

# symbol -> (dimension, factor to the dimension's base unit)
_UNITS: Final[dict[str, tuple[str, float]]] = {
    # energy, base Wh
    "Wh": ("energy", 1.0),
    "kWh": ("energy", 1e3),
    "MWh": ("energy", 1e6),
    "GWh": ("energy", 1e9),
    "J": ("energy", 1 / 3600),
    "kJ": ("energy", 1e3 / 3600),
    "MJ": ("energy", 1e6 / 3600),
    "GJ": ("energy", 1e9 / 3600),
    # reactive energy, base varh
    "varh": ("reactive_energy", 1.0),
    "kvarh": ("reactive_energy", 1e3),
    "Mvarh": ("reactive_energy", 1e6),
    # active power, base W
    "W": ("power", 1.0),
    "kW": ("power", 1e3),
    "MW": ("power", 1e6),
    # reactive power, base var
    "var": ("reactive_power", 1.0),
    "kvar": ("reactive_power", 1e3),
    "Mvar": ("reactive_power", 1e6),
    # volume, base m3
    "m3": ("volume", 1.0),
    "L": ("volume", 1e-3),
    "dam3": ("volume", 1e3),
    # mass, base kg
    "kg": ("mass", 1.0),
    "t": ("mass", 1e3),
    # electrical
    "V": ("voltage", 1.0),
    "kV": ("voltage", 1e3),
    "A": ("current", 1.0),
    "kA": ("current", 1e3),
    "Hz": ("frequency", 1.0),
    "1": ("ratio", 1.0),
    "%": ("ratio", 0.01),
}

_ALIASES: Final[dict[str, str]] = {
    "m³": "m3",
    "m^3": "m3",
    "l": "L",
    "kwh": "kWh",
    "KWH": "kWh",
    "KWh": "kWh",
    "kw": "kW",
    "KW": "kW",
    "tonne": "t",
    "kvarh": "kvarh",
    "kVarh": "kvarh",
    "kVArh": "kvarh",
    "kVAr": "kvar",
    "kVar": "kvar",
}


def canonical_unit(symbol: str) -> str:
    """The canonical spelling of ``symbol``; raises :class:`UnitError` if unknown."""
    symbol = _ALIASES.get(symbol, symbol)
    if symbol not in _UNITS:
        raise UnitError(symbol, "a known unit")
    return symbol


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Factor ``f`` such that ``value_in_to_unit = value_in_from_unit * f``.

    Raises :class:`UnitError` when either unit is unknown or the dimensions differ.
    """
    src = _ALIASES.get(from_unit, from_unit)
    dst = _ALIASES.get(to_unit, to_unit)
    if src == dst and src in _UNITS:
        return 1.0
    try:
        src_dim, src_factor = _UNITS[src]
        dst_dim, dst_factor = _UNITS[dst]
    except KeyError as err:
        raise UnitError(from_unit, to_unit) from err
    if src_dim != dst_dim:
        raise UnitError(from_unit, to_unit)
    return src_factor / dst_factor
