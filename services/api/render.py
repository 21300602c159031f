"""JSON responses rendered straight from the response model's schema.

A route that returns model instances has FastAPI dump them, validate the dump against the
response model again and serialise that: three passes per object. The hot routes return
``json_body(render(Model, value))`` instead: one pydantic-core serialisation of values already
built as the model; a page of alerts returns ``rows_response(rows)``: plain dicts whose fields
are the model's, serialised by orjson without a model per row (a test checks the bytes equal
the model's); consumption series come as JSON built by PostgreSQL (``json_body``; a test checks
the document equals the query function's rows). Each route keeps its ``response_model`` for the
OpenAPI document, and the schema tests check the answers against it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import TypeAdapter

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def render(tp: Any, value: Any) -> bytes:
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS.setdefault(tp, TypeAdapter(tp))
    return adapter.dump_json(value)


def json_body(body: bytes, headers: dict[str, str] | None = None) -> Response:
    """A JSON document already rendered (by ``render``, orjson or PostgreSQL), passed through."""
    return Response(body, media_type="application/json", headers=headers)


def rows_response(value: Any) -> Response:
    """``value`` (lists, dicts, dataclasses, aware datetimes, floats) as JSON, by orjson."""
    return json_body(orjson.dumps(value))
