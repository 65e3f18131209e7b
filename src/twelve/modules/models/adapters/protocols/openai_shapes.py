"""The shape of OpenAI wire-format answers, checked before they leave the adapter.

Not a full schema: what the gateway and the client SDKs index into. A `choices` that is not a
list, a `delta` that is not an object or a `usage` that counts in words would otherwise fail
later as a stack trace (or a silent cut of a stream); here it is a 502 naming the deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twelve.kernel.errors import UpstreamError
from twelve.modules.models.api import BINARY_OBJECT, JSONObject, Operation

Malformed = Callable[[str], UpstreamError]

_TOKEN_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


def check_response(operation: Operation, body: JSONObject, malformed: Malformed) -> None:
    """A non-streaming answer: its results list (when the operation has one), each result, and
    `usage`. A binary answer (`BinaryAnswer`) is bytes: nothing to check."""
    if body.get("object") == BINARY_OBJECT:
        return
    if operation.results is not None:
        _check_results(operation.results, body, malformed)
    check_usage(body.get("usage"), malformed)


def _check_results(name: str, body: JSONObject, malformed: Malformed) -> None:
    results = body.get(name)
    if not isinstance(results, list):
        raise malformed(f"`{name}` is not a list")
    for index, result in enumerate(results):
        where = f"{name}[{index}]"
        if not isinstance(result, dict):
            raise malformed(f"`{where}` is not an object")
        _check_message(result.get("message"), f"{where}.message", malformed)


def check_chunk(chunk: JSONObject, malformed: Malformed) -> None:
    """One streamed chunk: `choices` (absent on some usage chunks), each `delta`, and `usage`."""
    choices = chunk.get("choices")
    if choices is not None and not isinstance(choices, list):
        raise malformed("a chunk's `choices` is not a list")
    for index, choice in enumerate(choices or ()):
        if not isinstance(choice, dict):
            raise malformed(f"a chunk's `choices[{index}]` is not an object")
        _check_message(choice.get("delta"), f"choices[{index}].delta", malformed)
    check_usage(chunk.get("usage"), malformed)


def check_usage(usage: Any, malformed: Malformed) -> None:
    if usage is None:
        return
    if not isinstance(usage, dict):
        raise malformed("`usage` is not an object")
    for key in _TOKEN_COUNTS:
        if not _count_or_none(usage.get(key)):
            raise malformed(f"`usage.{key}` is not a token count")
    for key, details in usage.items():
        if key.endswith("_details") and details is not None and not isinstance(details, dict):
            raise malformed(f"`usage.{key}` is not an object")


def _check_message(message: Any, where: str, malformed: Malformed) -> None:
    if message is None:
        return
    if not isinstance(message, dict):
        raise malformed(f"`{where}` is not an object")
    content = message.get("content")
    if content is not None and not isinstance(content, str | list):
        raise malformed(f"`{where}.content` is not text")
    calls = message.get("tool_calls")
    if calls is None:
        return
    if not isinstance(calls, list):
        raise malformed(f"`{where}.tool_calls` is not a list")
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("function", {}), dict):
            raise malformed(f"`{where}.tool_calls` holds a call that is not an object")


def _count_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
