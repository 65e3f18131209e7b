"""Reading a JSON request body and checking it against a module's request schema.

The body is forwarded as the client sent it (fields we do not know pass through); the schema only
decides whether it is acceptable, and names the offending field as `param` when it is not. The
JSON rule itself (any Content-Type, one object, bounded depth) is the kernel's `read_json_object`.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from twelve.kernel.http_errors import from_validation_error
from twelve.kernel.json_body import read_json_object
from twelve.modules.models.api import JSONObject


async def read_body(request: Request, schema: type[BaseModel]) -> JSONObject:
    data = await read_json_object(request)
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, data) from None
    return data


def schema_of(model: type[BaseModel]) -> dict[str, object]:
    """An OpenAPI `requestBody` for routes that read their body themselves ($defs inlined)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: object) -> object:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline(schema)}},
        }
    }
