"""HTTP ingest for gateways without MQTT: the same payload, validation and writer as MQTT."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from services.api.deps import Ctx, Gateway
from services.api.models.common import STANDARD_PROBLEMS
from services.api.models.ingest import IngestRejection, IngestResult
from services.api.problems import Problem
from services.api.render import model_response
from services.core.errors import StorageRejectedError, StorageUnavailableError
from services.core.pipeline.model import Batch, InboundMessage, Reason
from services.core.pipeline.validate import processing_error, validate_guarded

router = APIRouter(prefix="/api/v1", tags=["ingest"], responses=STANDARD_PROBLEMS)
_MISSES = {
    Reason.UNKNOWN_METER,
    Reason.UNKNOWN_POINT,
    Reason.METER_GATEWAY_MISMATCH,
    Reason.METER_ENTERPRISE_MISMATCH,
    Reason.UNKNOWN_GATEWAY,
    Reason.UNKNOWN_ENTERPRISE,
}


@router.post(
    "/ingest/readings",
    response_model=IngestResult,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Push readings (gateway credential)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["readings"],
                        "properties": {
                            "seq": {"type": "integer", "minimum": 0},
                            "readings": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    "example": {
                        "seq": 42,
                        "readings": [
                            {
                                "meter": "M-100",
                                "point": "energy_import_kwh",
                                "ts": "2026-11-23T08:15:00+08:00",
                                "value": 10234.5,
                                "unit": "kWh",
                            }
                        ],
                    },
                }
            },
        }
    },
)
async def ingest_readings(ctx: Ctx, who: Gateway, request: Request) -> Response:
    """Exactly the MQTT payload (docs/mqtt.md). The enterprise and gateway are the credential's.
    Rejected readings are dead-lettered as with MQTT and listed in the answer; the good ones
    are stored. 503 with Retry-After while the database is unreachable: retry the same body."""
    body = await request.body()
    received = datetime.now(UTC)

    def run() -> tuple[Batch, int, int]:
        index = ctx.registry.get()
        codes = next((k for k, v in index.gateways.items() if v == who.gateway_id), None)
        if codes is None:
            index = ctx.registry.get(force=True)
            codes = next((k for k, v in index.gateways.items() if v == who.gateway_id), None)
        if codes is None:
            raise Problem(403, "this gateway is not active in the registry")
        msg = InboundMessage("http", None, codes[0], codes[1], body, received)
        batch = validate_guarded(msg, index, ctx.limits)
        if any(d.reason in _MISSES for d in batch.dead_letters):
            batch = validate_guarded(msg, ctx.registry.get(force=True), ctx.limits)
        with ctx.writers.writer() as writer:
            try:
                result = writer.write(batch)
            except StorageUnavailableError:
                raise
            except Exception as err:  # noqa: BLE001 - refused data or a defect: dead-letter it
                batch = Batch(messages=1, dead_letters=[processing_error(msg, ctx.limits, err)])
                result = writer.write(batch)
        return batch, result.inserted, result.duplicates

    try:
        batch, inserted, duplicates = await run_in_threadpool(run)
    except StorageUnavailableError as err:
        raise Problem(
            503, "the database is unavailable; retry later", headers={"Retry-After": "5"}
        ) from err
    except StorageRejectedError as err:
        raise Problem(500, "the database refused the readings", kind="storage-rejected") from err
    m = ctx.metrics.ingest_readings
    m.labels("stored").inc(inserted)
    m.labels("duplicate").inc(duplicates)
    m.labels("rejected").inc(len(batch.dead_letters))
    out = IngestResult(
        accepted=inserted,
        duplicates=duplicates,
        rejected=len(batch.dead_letters),
        rejections=[
            IngestRejection(index=d.reading_index, reason=d.reason.value, detail=d.detail)
            for d in batch.dead_letters
        ],
    )
    return model_response(IngestResult, out, status_code=status.HTTP_202_ACCEPTED)
