"""What every resource's models share: the problem document, pages with their cursor, and the
example values the examples of several resources agree on.

The examples describe one small Xiqing district in October and November 2026 and agree with each
other: electricity converts at 0.1229 kgce/kWh (equivalent value) and 0.6361 tCO2/MWh (North
China grid), natural gas at 1.2143 kgce/m3 and 0.00216 tCO2/m3. FastAPI drops ``None`` values
from examples when it renders the document, so an example gives a value to every required field.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


ENT = "91120111MA05K8XX3E"


COAL_ELECTRICITY = "GB/T 2589-2020 Annex A, electricity equivalent value (当量值), 3600 kJ/kWh"


COAL_GAS = "GB/T 2589-2020 Annex A, natural gas (gas field) 35 544 kJ/m3"


CO2_NORTH = (
    "MEE/NBS 2023 North China regional grid factor (Beijing, Tianjin, Hebei, Shanxi, "
    "Shandong, Inner Mongolia West); used for later years until replaced"
)


CO2_GAS = (
    "about 2.16 tCO2 per 10^3 m3, unverified (no publication checked): replace with activity x "
    "net calorific value x carbon content x oxidation rate x 44/12 of the enterprise's measured gas"
)


def _examples(model: Any) -> list[Any]:
    extra = getattr(model, "model_config", {}).get("json_schema_extra")
    return list(extra.get("examples", [])) if isinstance(extra, dict) else []


def _page_examples(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A page of ``Page[Model]`` shows the item model's first example and the cursor after it
    (base64url of the item's sort key: an alert's id, an enterprise's code)."""
    item = get_args(cls.model_fields["items"].annotation)
    examples = _examples(item[0]) if item else []
    if examples:
        key = examples[0].get("id", examples[0].get("code"))
        cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
        schema["examples"] = [{"items": examples[:1], "next_cursor": cursor}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "https://energymon.dev/problems/not-found",
                    "title": "not found",
                    "status": 404,
                    "detail": "no enterprise 91120111MA06L2QW8F",
                    "instance": "/api/v1/enterprises/91120111MA06L2QW8F",
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a route may answer with."""
    return {
        code: {"model": ProblemOut, "content": {"application/problem+json": {}}} for code in codes
    }


STANDARD_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)
