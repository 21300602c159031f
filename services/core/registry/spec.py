"""The provisioning file: a whole district (enterprises, sites, gateways, meters, points) as YAML.

The wire models here validate a file before anything touches the database; a validation error names
the field path and the line of the file (``RegistryError``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.core.domain.quantities import QUANTITIES, Carrier, QuantityCode, known_point
from services.core.domain.roles import MeterRole
from services.core.domain.units import conversion_factor
from services.core.domain.uscc import is_valid_uscc, uscc_check_char
from services.core.errors import RegistryError, UnitError
from services.core.registry.references import reference_problems
from services.core.registry.sparkplug import binding_of
from services.core.yaml_errors import yaml_line, yaml_problem

_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

DcClass = Literal["new_large", "new_super_large", "existing"]
SiteKind = Literal["industrial", "data_centre", "public_building"]
Protocol = Literal["mqtt", "modbus", "http", "dlt645"]


def _check_code(value: str) -> str:
    if not _CODE.match(value):
        raise ValueError(
            "codes are 1-64 characters of letters, digits, '_', '.', '-' "
            "(they appear in MQTT topics)"
        )
    return value


Code = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointSpec(_Strict):
    quantity: str
    min: float | None = None
    max: float | None = None
    register_max: float | None = Field(None, gt=0, description="counter rollover value")
    max_rate: float | None = Field(
        None,
        gt=0,
        description="largest plausible use per hour on the primary side (rated power in kW for "
        "kWh counters); a faster rise is a spike, excluded and flagged",
    )
    interval_s: int | None = Field(None, ge=1, le=86400)
    from_power: bool = Field(
        False,
        description="energy_import_kwh only: computed by integrating the meter's power_kw "
        "samples (a meter without an energy counter); it takes no readings of its own",
    )

    _known = field_validator("quantity")(known_point)


class MeterSpec(_Strict):
    code: Code
    carrier: Carrier
    protocol: Protocol = "mqtt"
    gateway: str | None = None
    serial: str | None = None
    multiplier: float = Field(1.0, gt=0)
    role: MeterRole = MeterRole.BOUNDARY
    sub_of: str | None = Field(
        None,
        description="code of the meter (same enterprise, same carrier) this one is a sub-meter "
        "of: the meter balance checks the parent against the sum of its sub-meters",
    )
    interval_s: int = Field(900, ge=1, le=86400, description="expected reading interval")
    commissioned: date | None = Field(
        None,
        description="local date (ENERGYMON_TIMEZONE) from which the meter's points owe data; "
        "without it, from their first reading",
    )
    decommissioned: date | None = Field(
        None, description="first local date on which the meter's points owe no data"
    )
    connection: dict[str, Any] | None = None
    points: list[PointSpec] = Field(min_length=1)

    _code = field_validator("code")(_check_code)

    @field_validator("commissioned", "decommissioned", mode="before")
    @classmethod
    def _local_date(cls, value: Any) -> Any:
        """A local calendar date: a date or ``YYYY-MM-DD``; a time of day is refused (a meter
        owes data from or until a local midnight)."""
        if isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) > 10):
            raise ValueError("a local date (YYYY-MM-DD) in ENERGYMON_TIMEZONE, without a time")
        return value

    @model_validator(mode="after")
    def _service_dates(self) -> MeterSpec:
        if self.commissioned and self.decommissioned and self.decommissioned <= self.commissioned:
            raise ValueError("decommissioned must be after commissioned")
        return self

    @model_validator(mode="after")
    def _sparkplug_binding(self) -> MeterSpec:
        binding = binding_of(self.connection)
        if binding is not None:
            if self.protocol != "mqtt":
                raise ValueError("a Sparkplug binding needs protocol: mqtt")
            binding.check_points({p.quantity: QUANTITIES[p.quantity].unit for p in self.points})
        return self

    @field_validator("points", mode="before")
    @classmethod
    def _point_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"quantity": p} if isinstance(p, str) else p for p in value]
        return value

    @field_validator("points")
    @classmethod
    def _unique_points(cls, value: list[PointSpec]) -> list[PointSpec]:
        seen = [p.quantity for p in value]
        dupes = {q for q in seen if seen.count(q) > 1}
        if dupes:
            raise ValueError(f"point listed twice: {', '.join(sorted(dupes))}")
        for p in value:
            if p.from_power and p.quantity != QuantityCode.ENERGY_IMPORT_KWH:
                raise ValueError(f"from_power applies to energy_import_kwh only, not {p.quantity}")
            if p.from_power and QuantityCode.POWER_KW not in seen:
                raise ValueError("energy_import_kwh from_power needs the meter's power_kw point")
        return value


class SiteSpec(_Strict):
    code: Code
    name: str | None = None
    kind: SiteKind = "industrial"
    dc_class: DcClass | None = None
    pue_limit: float | None = Field(None, ge=1.0, le=5.0)
    pue_category: Literal["PUE1", "PUE2", "PUE3"] | None = None
    meters: list[MeterSpec] = Field(default_factory=list)

    _code = field_validator("code")(_check_code)

    @model_validator(mode="after")
    def _data_centre_fields(self) -> SiteSpec:
        if self.kind != "data_centre" and (self.dc_class or self.pue_limit or self.pue_category):
            raise ValueError("dc_class, pue_limit and pue_category apply to data_centre sites only")
        if self.kind == "data_centre" and self.dc_class is None and self.pue_limit is None:
            raise ValueError(
                "a data_centre site needs dc_class (new_large, new_super_large, "
                "existing) or an explicit pue_limit"
            )
        return self


class GatewaySpec(_Strict):
    code: Code
    name: str | None = None

    _code = field_validator("code")(_check_code)


_CARRIER_BASE_UNIT = {"electricity": "kWh", "natural_gas": "m3", "water": "m3"}


def _check_budget_unit(carrier: Carrier, unit: str) -> None:
    """A carrier budget's unit is a known unit, and converts from what the carrier's meters
    count where that is fixed (kWh for electricity, m3 for gas and water)."""
    base = _CARRIER_BASE_UNIT.get(carrier.value)
    try:
        conversion_factor(unit, base or unit)
    except UnitError as err:
        raise ValueError(
            f"a {carrier.value} budget is in the carrier's unit (e.g. {base or 't'}), not {unit!r}"
        ) from err


class BudgetSpec(_Strict):
    """An energy budget: comprehensive energy in tce (no carrier) or one carrier in its unit."""

    year: int = Field(ge=2000, le=2100)
    amount: float = Field(gt=0)
    unit: str = "tce"
    carrier: Carrier | None = None
    site: str | None = None
    monthly: dict[int, float] | None = None

    @model_validator(mode="after")
    def _unit_fits(self) -> BudgetSpec:
        if self.carrier is None and self.unit != "tce":
            raise ValueError("a budget without a carrier is comprehensive energy: unit tce")
        if self.carrier is not None and self.unit == "tce":
            raise ValueError("a carrier budget is in the carrier's unit (e.g. kWh, m3, t)")
        if self.carrier is not None:
            _check_budget_unit(self.carrier, self.unit)
        if self.monthly is not None and not set(self.monthly) <= set(range(1, 13)):
            raise ValueError("monthly keys are months 1-12")
        return self


class HeatingValueSpec(_Strict):
    """A fuel's measured low calorific value at the enterprise (GB/T 2589-2020 converts by it
    before the reference coefficients); required for carriers without a shipped coefficient
    (coke-oven gas)."""

    carrier: Carrier
    unit: str = Field(description="the unit its meters count, e.g. m3")
    kj_per_unit: float = Field(gt=0, description="kJ per unit of the fuel")
    valid_from: date
    valid_to: date | None = None
    source: str = Field(min_length=1, description="where the value was measured, e.g. a lab")

    @model_validator(mode="after")
    def _a_fuel(self) -> HeatingValueSpec:
        if self.carrier in (Carrier.ELECTRICITY, Carrier.WATER):
            raise ValueError(f"{self.carrier.value} has no heating value")
        try:
            conversion_factor(self.unit, self.unit)
        except UnitError as err:
            raise ValueError(f"unknown unit {self.unit!r}") from err
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class AttributionSpec(_Strict):
    """One part of a product's comprehensive energy (综合能耗, GB/T 2589-2020 clause 4): a site's
    counted (boundary) meters, or one meter of any role (a workshop feeder that supplies the
    product line), with the share the product takes of it (a utility shared by products)."""

    site: str | None = None
    meter: str | None = None
    share: float = Field(1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _one_target(self) -> AttributionSpec:
        if (self.site is None) == (self.meter is None):
            raise ValueError("an attribution names either a site or a meter")
        return self


class QuotaRefSpec(_Strict):
    """The quota standard a product is judged by: the standard's number and the product's key in
    the quota table (``energymon quotas list``)."""

    standard: str = Field(min_length=1, max_length=32)
    product: str = Field(min_length=1, max_length=64)


class ProductSpec(_Strict):
    """A product whose unit-product energy consumption is reported (and judged against its quota
    standard, when it names one)."""

    code: Code
    name: str = Field(min_length=1)
    unit: str = Field(
        min_length=1, max_length=16, description="the unit its output is entered in, e.g. t"
    )
    quota: QuotaRefSpec | None = None
    plant: Literal["existing", "new"] = Field(
        "existing",
        description="existing plants are judged against the 限定值, new and expanded ones "
        "against the 准入值",
    )
    electricity_method: Literal["equivalent", "equal"] = "equivalent"
    registered: date | None = Field(
        None,
        description="the day it was registered: its figures are due from that month on "
        "(default: the day the file first provisions it)",
    )
    attribution: list[AttributionSpec] = Field(
        min_length=1, description="the sites and meters whose energy the product takes"
    )

    _code = field_validator("code")(_check_code)


class EnterpriseSpec(_Strict):
    code: str
    name: str = Field(min_length=1)
    industry: str = Field(pattern=r"^[A-T]\d{0,4}$", description="GB/T 4754 code, e.g. C33")
    town: str = Field(min_length=1)
    grid_region: str = "national"
    gateways: list[GatewaySpec] = Field(default_factory=list)
    sites: list[SiteSpec] = Field(default_factory=list)
    budgets: list[BudgetSpec] = Field(default_factory=list)
    products: list[ProductSpec] = Field(default_factory=list)
    heating_values: list[HeatingValueSpec] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _uscc_shape(cls, value: str) -> str:
        if not _USCC_SHAPE.match(value):
            raise ValueError(
                "a unified social credit code is 18 characters of 0-9 and A-Z without I, O, S, V, Z"
            )
        return value


def balanced_quantities(parent: MeterSpec, child: MeterSpec) -> set[str]:
    """The cumulative quantities both meters measure (each has one unit: the balance compares
    like with like)."""

    def cumulative(m: MeterSpec) -> set[str]:
        return {p.quantity for p in m.points if QUANTITIES[p.quantity].kind.value == "cumulative"}

    return cumulative(parent) & cumulative(child)


class DistrictSpec(_Strict):
    """A whole district; ``parse_district`` also checks its cross-references (references.py)."""

    validate_check_digits: bool = Field(
        True, description="reject unified social credit codes whose check character is wrong"
    )
    enterprises: list[EnterpriseSpec] = Field(default_factory=list)


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest existing ancestor)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if child is None:
                break
            node = child
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _path(loc: tuple[int | str, ...]) -> str:
    """``("enterprises", 0, "code")`` as ``enterprises[0].code``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def parse_district(text: str) -> DistrictSpec:
    """Parse and validate a provisioning file; raises RegistryError naming the field and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RegistryError(f"not valid YAML: {yaml_problem(err)}", line=yaml_line(err)) from err
    if data is None:
        data = {}
    try:
        spec = DistrictSpec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        raise RegistryError(first["msg"], location=_path(loc), line=_line_of(root, loc)) from err
    problem = next(reference_problems(spec), None)
    if problem is not None:
        raise RegistryError(
            problem.message,
            location=_path(problem.location),
            line=_line_of(root, problem.location),
        )
    if spec.validate_check_digits:
        for i, ent in enumerate(spec.enterprises):
            if not is_valid_uscc(ent.code):
                raise RegistryError(
                    f"unified social credit code {ent.code} fails its check character "
                    f"(expected {uscc_check_char(ent.code[:17])!r}); fix the code, or set "
                    "validate_check_digits: false for test data",
                    location=f"enterprises[{i}].code",
                    line=_line_of(root, ("enterprises", i, "code")),
                )
    return spec
