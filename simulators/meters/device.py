"""A simulated meter: engineering values that evolve, encoded into its map's registers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from services.core.devices.codec import encode
from services.core.devices.model import DeviceMap, Function, RegisterEntry
from services.core.domain.quantities import QUANTITIES, QuantityCode
from services.core.domain.units import conversion_factor
from simulators.gateways.fleet import load_shape


@dataclass
class SimulatedMeter:
    unit_id: int
    device: DeviceMap
    base_kw: float
    seed: int
    energy_kwh: float = 0.0
    power_kw: float = 0.0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.energy_kwh = self._rng.uniform(1_000, 50_000)

    def advance(self, now: datetime, dt_s: float) -> None:
        """Move to ``now``: power follows the load shape; the counter integrates it."""
        self.power_kw = self.base_kw * load_shape(now, 0.0) * (1 + self._rng.uniform(-0.03, 0.03))
        self.energy_kwh += self.power_kw * dt_s / 3600

    def value(self, entry: RegisterEntry) -> float:
        """The engineering value of ``entry`` (in the entry's own unit)."""
        target = entry.point or _guess(entry)
        by_quantity: dict[str, float] = {
            QuantityCode.ENERGY_IMPORT_KWH: self.energy_kwh,
            QuantityCode.ENERGY_EXPORT_KWH: 0.0,
            QuantityCode.REACTIVE_ENERGY_IMPORT_KVARH: self.energy_kwh * 0.3,
            QuantityCode.POWER_KW: self.power_kw,
            QuantityCode.REACTIVE_POWER_KVAR: self.power_kw * 0.33,
            QuantityCode.VOLTAGE_V: 230.0,
            QuantityCode.CURRENT_A: self.power_kw * 1000 / (3 * 230 * 0.95),
            QuantityCode.POWER_FACTOR: 0.95,
            QuantityCode.FREQUENCY_HZ: 50.0,
        }
        base = by_quantity.get(target, 0.0)
        quantity = QUANTITIES.get(target)
        if quantity is not None and entry.unit and entry.unit != quantity.unit:
            base *= conversion_factor(quantity.unit, entry.unit)
        return base

    def expected(self) -> dict[str, float]:
        """What the platform should store per point: the point's unit, after the map's scale."""
        out = {}
        for entry in self.device.registers:
            if entry.point is None:
                continue
            raw = encode(self.value(entry), entry)
            from services.core.devices.codec import decode

            value = decode(raw, entry)
            unit = QUANTITIES[entry.point].unit
            out[entry.point] = value * (conversion_factor(entry.unit, unit) if entry.unit else 1)
        return out

    def register_image(self) -> dict[Function, dict[int, int]]:
        image: dict[Function, dict[int, int]] = {Function.HOLDING: {}, Function.INPUT: {}}
        for entry in self.device.registers:
            for i, word in enumerate(encode(self.value(entry), entry)):
                image[entry.function][entry.address + i] = word
        return image


def _guess(entry: RegisterEntry) -> str:
    """The quantity an informational register resembles, from its unit."""
    by_unit = {
        "V": QuantityCode.VOLTAGE_V,
        "A": QuantityCode.CURRENT_A,
        "W": QuantityCode.POWER_KW,
        "kW": QuantityCode.POWER_KW,
        "kWh": QuantityCode.ENERGY_IMPORT_KWH,
        "Wh": QuantityCode.ENERGY_IMPORT_KWH,
        "Hz": QuantityCode.FREQUENCY_HZ,
        "kvar": QuantityCode.REACTIVE_POWER_KVAR,
        "kvarh": QuantityCode.REACTIVE_ENERGY_IMPORT_KVARH,
    }
    return by_unit.get(entry.unit, "")


def highest_address(device: DeviceMap) -> int:
    return max(e.end for e in device.registers)


_ = math  # float helpers kept for the load shape's callers
