"""Sparkplug edge nodes as the host last saw them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SparkplugNodeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group": "plant-1",
                    "node": "edge-7",
                    "state": "online",
                    "bd_seq": 3,
                    "births": 2,
                    "devices": ["meter-1", "meter-2"],
                    "rebirth_requests": {"seq_gap": 1},
                    "updated_at": "2026-12-02T16:05:11+08:00",
                }
            ]
        }
    )

    group: str = Field(description="Sparkplug group_id")
    node: str = Field(description="edge_node_id")
    state: str = Field(
        description="online (a session: NBIRTH without NDEATH), offline, or unborn (seen, never "
        "born while the host ran)"
    )
    bd_seq: int | None = Field(None, description="bdSeq of the current or last session")
    births: int = Field(description="NBIRTHs seen since the host started")
    devices: list[str] = Field(description="Devices online (DBIRTH without DDEATH)")
    rebirth_requests: dict[str, int] = Field(
        description="Rebirth requests sent since the host started, by cause: seq_gap, "
        "unknown_alias, data_before_birth"
    )
    updated_at: datetime = Field(description="When the host wrote this (every few seconds)")
