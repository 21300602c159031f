"""Standard coal (GB/T 2589-2020) and CO2 conversion with factors kept as dated data.

Comprehensive energy consumption is the sum over carriers of amount x kgce-per-unit, in tce
(1 tce = 1 000 kgce); electricity uses the equivalent value (0.1229 kgce/kWh) or the equal value
(the year's supply coal rate), a setting shown on every report. Electricity CO2 = MWh x the grid
factor of the enterprise's region for the year (falling back to the national factor, and saying
so). Every result names the factor, its validity and its source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from services.core.domain.units import conversion_factor
from services.core.errors import EnergymonError

KJ_PER_KGCE = 29307.0
"""1 kgce = 29 307 kJ (7 000 kcal), the standard-coal equivalent of GB/T 2589-2020."""


class ElectricityMethod(StrEnum):
    EQUIVALENT = "equivalent"  # 当量值
    EQUAL = "equal"  # 等价值


class NoFactorError(EnergymonError):
    def __init__(self, what: str, on: date) -> None:
        super().__init__(f"no {what} factor valid on {on.isoformat()}")


@dataclass(frozen=True, slots=True)
class Factor:
    carrier: str
    unit: str
    value: float
    valid_from: date
    valid_to: date | None
    source: str
    method: str | None = None
    region: str | None = None
    uncertain: bool = False
    measured: bool = False  # an enterprise's measured heating value, not a reference coefficient
    source_zh: str = ""  # the source in Chinese, for the Chinese console ("" : none given)

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True, slots=True)
class HeatingValue:
    """An enterprise's measured low calorific value (低位发热量) of a fuel. GB/T 2589-2020 converts
    a fuel by its measured heating value where one is known, and by the reference coefficients of
    its Annex A only where none is: kgce = amount x kJ per unit / 29 307."""

    carrier: str
    unit: str
    kj_per_unit: float
    valid_from: date
    valid_to: date | None
    source: str

    def factor(self) -> Factor:
        return Factor(
            carrier=self.carrier,
            unit=self.unit,
            value=self.kj_per_unit / KJ_PER_KGCE,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            source=f"measured low calorific value {self.kj_per_unit:g} kJ/{self.unit} / "
            f"29 307 kJ/kgce (GB/T 2589-2020): {self.source}",
            measured=True,
            source_zh=f"实测低位发热量 {self.kj_per_unit:g} kJ/{self.unit} ÷ 29 307 kJ/kgce"
            f"（GB/T 2589-2020）：{self.source}",
        )


@dataclass(frozen=True, slots=True)
class Converted:
    value: float
    factor: Factor
    note: str = ""


@dataclass(frozen=True)
class FactorSet:
    coal: tuple[Factor, ...]
    co2: tuple[Factor, ...]

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> FactorSet:
        """The factors of a parsed document: ``standard_coal`` and ``co2`` lists of entries."""

        def parse(entries: list[dict[str, Any]], key: str) -> tuple[Factor, ...]:
            return tuple(
                Factor(
                    carrier=e["carrier"],
                    unit=e["unit"],
                    value=float(e[key]),
                    valid_from=e["valid_from"],
                    valid_to=e.get("valid_to"),
                    source=" ".join(str(e["source"]).split()),
                    method=e.get("method"),
                    region=e.get("region"),
                    uncertain=bool(e.get("uncertain", False)),
                    source_zh=" ".join(str(e.get("source_zh", "")).split()),
                )
                for e in entries
            )

        return cls(parse(doc.get("standard_coal", []), "kgce"), parse(doc.get("co2", []), "tco2"))

    def with_measured(self, values: Iterable[HeatingValue]) -> FactorSet:
        """These factors with an enterprise's measured heating values, which take precedence
        over the reference coefficients of their carrier while they are valid."""
        measured = tuple(v.factor() for v in values)
        return replace(self, coal=measured + self.coal) if measured else self

    def _pick(self, factors: tuple[Factor, ...], on: date, **match: str | None) -> Factor | None:
        found = [
            f
            for f in factors
            if f.valid_on(on) and all(getattr(f, k) == v for k, v in match.items())
        ]
        return max(found, key=lambda f: (f.measured, f.valid_from)) if found else None

    def kgce(
        self,
        carrier: str,
        amount: float,
        unit: str,
        on: date,
        method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
    ) -> Converted:
        """Standard coal in kgce for ``amount`` ``unit`` of ``carrier`` consumed on ``on``."""
        factor = self._pick(
            self.coal,
            on,
            carrier=carrier,
            method=method.value if carrier == "electricity" else None,
        )
        if factor is None:
            raise NoFactorError(f"standard-coal {carrier}", on)
        return Converted(amount * conversion_factor(unit, factor.unit) * factor.value, factor)

    def try_tco2(
        self, carrier: str, amount: float, unit: str, on: date, region: str = "national"
    ) -> Converted | None:
        """:meth:`tco2`, or None when no factor is valid (none is shipped for raw coal or
        coke-oven gas: their CO2 needs the fuel's own carbon content)."""
        try:
            return self.tco2(carrier, amount, unit, on, region)
        except NoFactorError:
            return None

    def tco2(
        self, carrier: str, amount: float, unit: str, on: date, region: str = "national"
    ) -> Converted:
        """CO2 in t for ``amount`` ``unit`` of ``carrier``; electricity by the grid region."""
        note = ""
        if carrier == "electricity":
            factor = self._pick(self.co2, on, carrier=carrier, region=region)
            if factor is None and region != "national":
                factor = self._pick(self.co2, on, carrier=carrier, region="national")
                note = f"no {region} grid factor for {on.year}; national factor used"
        else:
            factor = self._pick(self.co2, on, carrier=carrier)
        if factor is None:
            raise NoFactorError(f"CO2 {carrier}", on)
        return Converted(amount * conversion_factor(unit, factor.unit) * factor.value, factor, note)
