"""Comprehensive energy (tce) and CO2, with the conversion factors used."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from services.api.models.common import (
    CO2_GAS,
    CO2_NORTH,
    COAL_ELECTRICITY,
    COAL_GAS,
    ENT,
)

CARRIER_ELECTRICITY: JsonDict = {
    "carrier": "electricity",
    "unit": "kWh",
    "amount": 2016512.0,
    "region": "north",
    "tce": 247.8293,
    "tco2": 1282.7033,
    "coal_factor": 0.1229,
    "coal_factor_unit": "kWh",
    "coal_source": COAL_ELECTRICITY,
    "co2_factor": 0.6361,
    "co2_factor_unit": "MWh",
    "co2_source": CO2_NORTH,
    "uncertain": False,
    "note": "",
}


CARRIER_GAS: JsonDict = {
    "carrier": "natural_gas",
    "unit": "m3",
    "amount": 57920.0,
    "region": "national",
    "tce": 70.3323,
    "tco2": 125.1072,
    "coal_factor": 1.2143,
    "coal_factor_unit": "m3",
    "coal_source": COAL_GAS,
    "co2_factor": 0.00216,
    "co2_factor_unit": "m3",
    "co2_source": CO2_GAS,
    "uncertain": True,
    "note": "",
}


class CarrierEnergyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CARRIER_ELECTRICITY, CARRIER_GAS]})

    carrier: str
    unit: str
    amount: float = Field(description="In `unit`, boundary meters only, multiplier applied")
    region: str = Field(description="Grid region whose electricity CO2 factor applied")
    tce: float | None = Field(description="Standard coal, tonnes (None for water)")
    tco2: float | None
    coal_factor: float | None = Field(description="kgce per factor unit")
    coal_factor_unit: str | None
    coal_source: str | None
    co2_factor: float | None = Field(description="tCO2 per factor unit")
    co2_factor_unit: str | None
    co2_source: str | None
    uncertain: bool = Field(description="A factor is a default to replace before official use")
    note: str = ""


class EnergyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": f"enterprise {ENT}",
                    "start": "2026-10-01T00:00:00+08:00",
                    "end": "2026-11-01T00:00:00+08:00",
                    "method": "equivalent",
                    "total_tce": 318.1616,
                    "total_tco2": 1407.8105,
                    "carriers": [CARRIER_ELECTRICITY, CARRIER_GAS],
                }
            ]
        }
    )

    scope: str
    start: datetime
    end: datetime
    method: str = Field(description="Electricity to standard coal: equivalent or equal value")
    total_tce: float
    total_tco2: float
    carriers: list[CarrierEnergyOut]
