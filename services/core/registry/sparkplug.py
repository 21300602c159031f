"""A meter's Sparkplug B binding, declared in the provisioning file under ``connection``:

    connection:
      sparkplug:
        group: plant-1          # Sparkplug group_id
        node: edge-7            # edge_node_id
        device: meter-3         # device_id; omitted: the node's own metrics
        metrics:                # metric name -> point, or {point, unit} when the unit differs
          "Energy/Import": {point: energy_import_kwh, unit: Wh}
          "Power": power_kw

Checked when the file is loaded (every point named must be one of the meter's points, every unit
convertible to it); read back from ``meters.connection`` by the host (services/core/sparkplug).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.core.domain.quantities import known_point
from services.core.domain.units import conversion_factor
from services.core.errors import UnitError

# Sparkplug identifiers are MQTT topic levels: UTF-8 without '/', '+' or '#' (chapter 4).
_FORBIDDEN = frozenset("/+#")


def _identifier(value: str) -> str:
    if not value or _FORBIDDEN & set(value):
        raise ValueError("a Sparkplug id is a non-empty topic level: no '/', '+' or '#'")
    return value


class MetricBinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    point: str
    unit: str | None = Field(None, description="the metric's unit, when not the point's")

    _known = field_validator("point")(known_point)


class SparkplugBinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str
    node: str
    device: str | None = None
    metrics: dict[str, MetricBinding] = Field(min_length=1)

    _ids = field_validator("group", "node", "device")(lambda v: v if v is None else _identifier(v))

    @field_validator("metrics", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"point": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def check_points(self, points: dict[str, str]) -> None:
        """Every bound point is one of the meter's (``points``: quantity -> unit) and every
        declared unit converts to the point's; ValueError names the first that is not."""
        for name, b in self.metrics.items():
            unit = points.get(b.point)
            if unit is None:
                raise ValueError(f"metric {name!r} names point {b.point!r}, which the meter lacks")
            if b.unit is not None:
                try:
                    conversion_factor(b.unit, unit)
                except UnitError:
                    raise ValueError(
                        f"metric {name!r}: unit {b.unit!r} cannot be converted to {unit!r}"
                    ) from None


def binding_of(connection: dict[str, Any] | None) -> SparkplugBinding | None:
    """The meter's binding, or None when its connection declares none (ValidationError when it
    declares a malformed one)."""
    if not connection or "sparkplug" not in connection:
        return None
    return SparkplugBinding.model_validate(connection["sparkplug"])
