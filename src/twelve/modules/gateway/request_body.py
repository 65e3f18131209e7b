"""Reading a JSON request body and checking it against a module's request schema.

The body is forwarded as the client sent it (fields we do not know pass through); the schema only
decides whether it is acceptable, and names the offending field as `param` when it is not.
"""

from __future__ import annotations

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from twelve.kernel.errors import InvalidRequest
from twelve.kernel.http_errors import from_validation_error
from twelve.modules.models.api import JSONObject


async def read_body(request: Request, schema: type[BaseModel]) -> JSONObject:
    raw = await request.body()
    if not raw:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"We could not parse the JSON body of your request ({exc.msg} at position {exc.pos})."
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
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
