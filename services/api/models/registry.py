"""The registry: enterprises, sites, gateways, meters with their points; what an apply changed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "91120111MA05K8XX3E",
                    "name": "Xiqing Precision Castings Co.",
                    "industry": "C33",
                    "town": "Zhangjiawo",
                    "grid_region": "north",
                    "active": True,
                }
            ]
        }
    )

    code: str = Field(description="Unified social credit code")
    name: str
    industry: str = Field(description="GB/T 4754 industry code")
    town: str
    grid_region: str
    active: bool


class SiteOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "dc-1",
                    "name": "Zhangjiawo data centre",
                    "kind": "data_centre",
                    "dc_class": "new_large",
                    "pue_limit": 1.25,
                    "pue_category": "PUE2",
                    "active": True,
                }
            ]
        }
    )

    code: str
    name: str
    kind: str
    dc_class: str | None = None
    pue_limit: float | None = Field(None, description="Explicit limit; else the class's limit")
    pue_category: str | None = None
    active: bool


class GatewayOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "gw-01",
                    "name": "Casting hall",
                    "status": "online",
                    "status_at": "2026-11-29T08:02:11+08:00",
                    "last_seen_at": "2026-11-29T22:15:04+08:00",
                    "active": True,
                }
            ]
        }
    )

    code: str
    name: str | None = None
    status: str | None = Field(None, description="Last MQTT status: online / offline")
    status_at: datetime | None = None
    last_seen_at: datetime | None = None
    active: bool


POINT_EXAMPLE: JsonDict = {
    "quantity": "energy_import_kwh",
    "unit": "kWh",
    "kind": "cumulative",
    "active": True,
}


class PointOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [POINT_EXAMPLE]})

    quantity: str
    unit: str
    kind: str
    active: bool


class MeterOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "M-100",
                    "site": "plant-1",
                    "carrier": "electricity",
                    "protocol": "mqtt",
                    "role": "boundary",
                    "multiplier": 80.0,
                    "serial": "ACR-2025-004417",
                    "gateway": "gw-01",
                    "active": True,
                    "points": [POINT_EXAMPLE],
                }
            ]
        }
    )

    code: str
    site: str
    carrier: str
    protocol: str
    role: str
    multiplier: float
    serial: str | None = None
    gateway: str | None = None
    active: bool
    points: list[PointOut]


class RegistryApplyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprises": 3,
                    "changes": {
                        "budgets created": 4,
                        "enterprises created": 3,
                        "gateways created": 1,
                        "meters created": 7,
                        "points created": 7,
                        "sites created": 4,
                    },
                }
            ]
        }
    )

    enterprises: int
    changes: dict[str, int] = Field(description="`table outcome` -> rows")
