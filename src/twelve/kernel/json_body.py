"""The one rule for JSON request bodies, shared by public, admin and internal routes.

The body is parsed as JSON whatever `Content-Type` says (or lacks): clients that forget the header
are common and the header adds nothing we would act on. It must be one JSON object, and no deeper
than `MAX_DEPTH` levels: orjson parses 1,024 levels but serialises only 254, so a deeper body
would fail later, in a place that can only answer 500.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from twelve.kernel.errors import InvalidRequest

MAX_DEPTH = 64


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object, or an `InvalidRequest` (400) saying what is wrong."""
    return parse_json_object(await request.body())


def parse_json_object(raw: bytes) -> dict[str, Any]:
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
    for name, value in data.items():
        if _too_deep(value, MAX_DEPTH - 1):
            raise InvalidRequest(
                f"'{name}' is nested more than {MAX_DEPTH} levels deep.", param=name
            )
    return data


def _too_deep(value: Any, allowed: int) -> bool:
    """Whether `value` holds containers more than `allowed` levels deep (iterative: no recursion
    limit to hit on a hostile body)."""
    pending = [(value, allowed)]
    while pending:
        node, left = pending.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if left <= 0:
            return True
        pending.extend((c, left - 1) for c in children if isinstance(c, dict | list))
    return False
