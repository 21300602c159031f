"""The one way routes answer: JSON rendered straight from the response model's schema, or a file.

A route that returns model instances has FastAPI validate them against the response model again
before serialising them. Every route here returns a ``Response`` instead, built by one of:

- ``model_response(Model, value)``: one pydantic-core serialisation of values already built as
  the model — the bytes FastAPI's own serialisation of the response model gives (the golden
  test compares every route's answers);
- ``rows_response(rows)``: plain dicts whose fields are the model's, serialised by orjson without
  a model per row (a page of alerts; a test checks the bytes equal the model's);
- ``json_body(body)``: JSON already rendered — consumption series built by PostgreSQL (a test
  checks the document equals the query function's rows), a ranking rendered once per snapshot;
- ``file_response(body, ...)``: a report as CSV or XLSX, to save under its name.

Each route keeps its ``response_model`` for the OpenAPI document, and the schema tests check the
answers against it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Response
from pydantic import TypeAdapter

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def render(tp: Any, value: Any) -> bytes:
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS.setdefault(tp, TypeAdapter(tp))
    return adapter.dump_json(value)


def json_body(
    body: bytes, headers: dict[str, str] | None = None, *, status_code: int = 200
) -> Response:
    """A JSON document already rendered (by ``render``, orjson or PostgreSQL), passed through."""
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def model_response(tp: Any, value: Any, *, status_code: int = 200) -> Response:
    """``value``, built as the response model ``tp`` (a model or e.g. ``list[Model]``), as JSON."""
    return json_body(render(tp, value), status_code=status_code)


def rows_response(value: Any) -> Response:
    """``value`` (lists, dicts, dataclasses, aware datetimes, floats) as JSON, by orjson."""
    return json_body(orjson.dumps(value))


def file_response(
    body: str | bytes, *, media_type: str, filename: str, utf8_filename: str | None = None
) -> Response:
    """A file the client saves as ``filename`` (``Content-Disposition: attachment``);
    ``utf8_filename``, a name in any script, goes beside it as RFC 6266's ``filename*`` (the
    ASCII ``filename`` stays for clients that do not read it)."""
    disposition = f'attachment; filename="{filename}"'
    if utf8_filename is not None:
        disposition += f"; filename*=UTF-8''{quote(utf8_filename, safe='')}"
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
