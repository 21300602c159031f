"""The OpenAPI document served by the running app is complete: every operation has a summary and
a description, every query parameter a description, every request and response model at least
one example, and every example validates against its own schema (``$ref``s resolved against the
document, date-times checked to carry a UTC offset)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.integration.api.conftest import ApiHarness

DOC_URI = "urn:energymon:openapi"
# FastAPI's own schemas for its default 422 answer: this API answers problem documents instead
GENERATED = {"HTTPValidationError", "ValidationError"}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}

formats = FormatChecker()


@formats.checks("date-time", raises=ValueError)
def _offset_date_time(value: object) -> bool:
    # RFC 3339 requires the offset; a naive example would mislead every client
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@pytest.fixture
def document(api: ApiHarness) -> dict[str, Any]:
    resp = api.client.get("/openapi.json")
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    return doc


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", op


def _models(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Component schemas of request and response bodies: objects, not enums."""
    return {
        name: schema
        for name, schema in doc["components"]["schemas"].items()
        if name not in GENERATED and "properties" in schema
    }


def _schema_examples(schema: dict[str, Any]) -> list[Any]:
    """The schema's own examples; for a form body FastAPI builds from ``Form(examples=...)``
    parameters (``Body_*``), one object assembled from each field's first example."""
    if schema.get("examples"):
        return list(schema["examples"])
    fields = schema["properties"]
    if fields and all(f.get("examples") for f in fields.values()):
        return [{name: f["examples"][0] for name, f in fields.items()}]
    return []


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return Draft202012Validator(_absolute_refs(schema), registry=registry, format_checker=formats)


def _absolute_refs(node: Any) -> Any:
    """Inline schemas in operations refer to ``#/components/...`` of the whole document."""
    if isinstance(node, dict):
        return {
            k: (
                f"{DOC_URI}{v}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _absolute_refs(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(v) for v in node]
    return node


def _errors(validator: Draft202012Validator, example: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(example)
    ]


def test_every_operation_has_a_summary_a_description_and_described_query_parameters(
    document: dict[str, Any],
) -> None:
    ops = dict(_operations(document))
    assert len(ops) >= 30
    assert [name for name, op in ops.items() if not op.get("summary")] == []
    assert [name for name, op in ops.items() if not op.get("description")] == []
    undescribed = [
        f"{name} ?{p['name']}"
        for name, op in ops.items()
        for p in op.get("parameters", [])
        if p["in"] == "query" and not p.get("description")
    ]
    assert undescribed == []


def test_every_request_and_response_model_has_an_example(document: dict[str, Any]) -> None:
    models = _models(document)
    assert {"EnergyOut", "Page_AlertOut_", "DistrictReportOut", "ProblemOut"} <= set(models)
    assert [name for name, schema in models.items() if not _schema_examples(schema)] == []


def test_every_model_example_validates_against_its_schema(document: dict[str, Any]) -> None:
    failures = {
        f"{name} example {i}": errors
        for name, schema in _models(document).items()
        for i, example in enumerate(_schema_examples(schema))
        if (
            errors := _errors(
                _validator(document, {"$ref": f"#/components/schemas/{name}"}), example
            )
        )
    }
    assert failures == {}


def test_every_operation_example_validates_against_its_schema(document: dict[str, Any]) -> None:
    """Examples given on parameters and media types (e.g. the ingest body) hold too."""
    checked, failures = 0, {}
    for name, op in _operations(document):
        places: list[tuple[str, dict[str, Any]]] = [
            (f"?{p['name']}", p) for p in op.get("parameters", [])
        ]
        bodies = [("request", op.get("requestBody", {}))] + [
            (f"response {code}", r) for code, r in op.get("responses", {}).items()
        ]
        for where, body in bodies:
            places += [(f"{where} {media}", m) for media, m in body.get("content", {}).items()]
        for where, holder in places:
            values = [holder["example"]] if "example" in holder else []
            values += [e["value"] for e in holder.get("examples", {}).values() if "value" in e]
            for example in values:
                checked += 1
                errors = _errors(_validator(document, holder.get("schema", {})), example)
                if errors:
                    failures[f"{name} {where}"] = errors
    assert checked >= 1  # the ingest body's example at least
    assert failures == {}
