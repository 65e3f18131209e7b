"""Upstream JSON as Python objects we can safely pass on and serialise again.

orjson parses 1,024 levels of nesting but serialises only 254, so a deeply nested upstream
answer would parse and then fail when we send it to the client. Nothing a model API returns is
anywhere near `MAX_DEPTH` deep; deeper payloads are refused here, at the adapter boundary.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 64


class BadJSON(Exception):
    """Not JSON, not an object, or nested deeper than `MAX_DEPTH`."""


def parse_object(data: bytes | str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadJSON("not JSON") from None
    if not isinstance(parsed, dict):
        raise BadJSON("not a JSON object")
    if _openers(data) >= MAX_DEPTH and too_deep(parsed, MAX_DEPTH):
        raise BadJSON(f"nested deeper than {MAX_DEPTH} levels")
    return parsed


def _openers(data: bytes | str) -> int:
    """An upper bound of the nesting depth (brackets in strings count too): fewer than
    `MAX_DEPTH` of them, and the walk of the parsed value (a stream's every chunk) is not needed."""
    if isinstance(data, str):
        return data.count("{") + data.count("[")
    return data.count(b"{") + data.count(b"[")


def too_deep(value: Any, limit: int) -> bool:
    """Whether `value` has containers nested more than `limit` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False
