"""The fake's Anthropic endpoint: `POST /v1/messages`, streaming and not.

It checks what the real API checks and a translation could get wrong: the `anthropic-version`
header, `max_tokens`, only user/assistant roles, non-empty text blocks, and tool results that
answer a tool use in the message before. Streams follow
https://docs.anthropic.com/en/api/messages-streaming event by event.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.upstream_behaviour import pieces, tool_arguments, truncate, words
from tests.fakes.upstream_exchange import Dialect, gate, json_response, write_events

_ids = itertools.count(1)
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error(status: int, message: str | None) -> web.Response:
    type_ = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    if message is None:
        message = (
            "invalid x-api-key"
            if status == 401
            else f"The fake upstream failed with HTTP {status} as asked."
        )
    body = {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": f"req_fake{next(_ids)}",
    }
    headers = {"retry-after": "1"} if status == 429 else None
    return json_response(body, status, headers)


def _invalid(request: web.Request, body: dict[str, Any]) -> str | None:
    if "anthropic-version" not in request.headers:
        return "anthropic-version: header is required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    previous_tool_uses: set[Any] = set()
    for index, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        blocks = _blocks(message.get("content"))
        if any(b.get("type") == "text" and not b.get("text") for b in blocks):
            return f"messages.{index}: text content blocks must be non-empty"
        for block in blocks:
            if (
                block.get("type") == "tool_result"
                and block.get("tool_use_id") not in previous_tool_uses
            ):
                return f"messages.{index}: unexpected `tool_use_id` found in `tool_result` blocks"
        previous_tool_uses = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    return None


DIALECT = Dialect(
    error=error,
    authorized=lambda request, key: request.headers.get("x-api-key") == key,
    context_error=lambda: error(400, "prompt is too long: 210000 tokens > 200000 maximum"),
    filter_error=lambda: error(400, "Output blocked by content filtering policy"),
    invalid=_invalid,
)


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or () if isinstance(b, dict)]


def _text(content: Any) -> str:
    parts = []
    for block in _blocks(content):
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(_text(block.get("content")))
    return " ".join(parts)


async def messages(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, behaviour = gated
    turns = body["messages"]
    last: dict[str, Any] = next((m for m in reversed(turns) if m.get("role") == "user"), {})
    answered_tool = any(b.get("type") == "tool_result" for b in _blocks(last.get("content")))
    last_text = _text(last.get("content"))
    prompt_tokens = words(_text(body.get("system"))) + sum(
        words(_text(m.get("content"))) for m in turns
    )
    tools = body.get("tools") or []
    if behaviour.kind == "tool" and tools and not answered_tool:
        arguments = tool_arguments(tools[0].get("input_schema"), last_text)
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": f"toolu_fake{next(_ids)}",
            "name": tools[0]["name"],
            "input": arguments,
        }
        reply, stop_reason = orjson.dumps(arguments).decode(), "tool_use"
    else:
        reply, cut = truncate(f"echo: {last_text}", body["max_tokens"])
        block = {"type": "text", "text": reply}
        stop_reason = "max_tokens" if cut else "end_turn"
    usage = {
        "input_tokens": prompt_tokens,
        "output_tokens": words(reply),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message = {
        "id": f"msg_fake{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [block],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    if not body.get("stream"):
        return json_response(message)
    return await write_events(
        request,
        _events(message, block, reply),
        behaviour,
        _event(
            "error",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ),
    )


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _events(message: dict[str, Any], block: dict[str, Any], reply: str) -> list[bytes]:
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [_event("message_start", {"type": "message_start", "message": start})]
    if block["type"] == "text":
        events.append(
            _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        events.append(_event("ping", {"type": "ping"}))
        deltas = [{"type": "text_delta", "text": piece} for piece in pieces(reply)]
    else:
        opening = {**block, "input": {}}
        events.append(
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": opening},
            )
        )
        events.append(_event("ping", {"type": "ping"}))
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces(reply)]
    events += [
        _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        for delta in deltas
    ]
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": delta,
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events
