"""Validate JSON against a component schema of OpenAI's official OpenAPI document.

    validate(response, "CreateChatCompletionResponse")

The document (vendored in `tests/support/openai-openapi/`, or `$OPENAI_OPENAPI_SPEC`) declares
OpenAPI 3.1, whose schemas are JSON Schema 2020-12, but about a hundred of them still use 3.0's
`nullable: true` (among them `usage` and `finish_reason` in stream chunks). So this is
`OAS31Validator` taught one extra rule: where a schema says `nullable: true`, `null` is valid,
whatever else the schema (or a `$ref` beside it) says. `$ref`s resolve inside the whole
document, which is loaded once per process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson

# jsonschema ships no type information and types-jsonschema is not a dependency.
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from jsonschema.protocols import Validator  # type: ignore[import-untyped]
from jsonschema.validators import extend  # type: ignore[import-untyped]
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["SPEC_PATH", "ValidationError", "errors", "validate"]

_VENDORED = Path(__file__).resolve().parent / "openai-openapi" / "openapi.json"
SPEC_PATH = Path(os.environ.get("OPENAI_OPENAPI_SPEC") or _VENDORED)
_DOCUMENT_URI = "urn:openai:openapi"

Keyword = Callable[[Any, Any, Any, Any], Iterator[ValidationError]]


def validate(instance: Any, schema_name: str) -> None:
    """Raise `ValidationError` (the most relevant error first) if `instance` does not match."""
    found = errors(instance, schema_name)
    if found:
        raise found[0]


def errors(instance: Any, schema_name: str) -> list[ValidationError]:
    """Every way `instance` fails the component schema `schema_name`, most relevant first."""
    if schema_name not in _schema_names():
        raise KeyError(f"{schema_name} is not a component schema of {SPEC_PATH}")
    validator = _validator_class()(
        {"$ref": f"{_DOCUMENT_URI}#/components/schemas/{schema_name}"}, registry=_registry()
    )
    found = list(validator.iter_errors(instance))
    found.sort(key=lambda error: (len(list(error.path)), -len(error.context or [])), reverse=True)
    return found


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(SPEC_PATH.read_bytes())
    return document


@cache
def _schema_names() -> frozenset[str]:
    return frozenset(_document()["components"]["schemas"])


@cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(_document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
    return registry


def _nullable(keyword: Keyword) -> Keyword:
    def check(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if instance is None and isinstance(schema, dict) and schema.get("nullable") is True:
            return iter(())
        return keyword(validator, value, instance, schema)

    return check


@cache
def _validator_class() -> type[Validator]:
    keywords = {name: _nullable(keyword) for name, keyword in OAS31Validator.VALIDATORS.items()}
    cls: type[Validator] = extend(OAS31Validator, validators=keywords)
    return cls
