"""The fake's `POST /v1/chat/completions`.

Streams send the role first, one word per chunk, a chunk with the finish reason, then — only
with `stream_options.include_usage` — a usage chunk with no choices, then `data: [DONE]`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.upstream_behaviour import (
    pieces,
    tool_arguments,
    truncate,
    words,
)
from tests.fakes.upstream_exchange import gate, json_response, write_events
from tests.fakes.upstream_openai_dialect import (
    DIALECT,
    DONE,
    content_text,
    event,
    ids,
    max_words,
    stream_error,
    usage_body,
)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    gated = await gate(request, DIALECT)
    if isinstance(gated, web.StreamResponse):
        return gated
    body, behaviour = gated
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    last = next((m for m in reversed(messages) if m.get("role") in ("user", "tool")), {})
    last_text = content_text(last.get("content"))
    prompt_tokens = sum(words(content_text(m.get("content"))) for m in messages)
    tools = body.get("tools") or []
    call: dict[str, Any] | None = None
    if behaviour.kind == "tool" and tools and last.get("role") != "tool":
        function = tools[0].get("function", {})
        arguments = orjson.dumps(tool_arguments(function.get("parameters"), last_text)).decode()
        call = {
            "id": f"call_fake{next(ids)}",
            "type": "function",
            "function": {"name": function.get("name"), "arguments": arguments},
        }
        reply, finish = arguments, "tool_calls"
    else:
        reply, cut = truncate(f"echo: {last_text}", max_words(body))
        finish = "length" if cut else "stop"
    usage = usage_body(prompt_tokens, words(reply))
    envelope = {
        "id": f"chatcmpl-fake{next(ids)}",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
    }
    if not body.get("stream"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if call else reply,
            "refusal": None,
            "annotations": [],
        }
        if call:
            message["tool_calls"] = [call]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return json_response(
            {
                **envelope,
                "object": "chat.completion",
                "choices": [choice],
                "usage": usage,
                "service_tier": "default",
            }
        )
    return await write_events(
        request,
        _chat_chunks(envelope, reply, call, finish, usage, body),
        behaviour,
        stream_error(),
    )


def _chat_chunks(
    envelope: dict[str, Any],
    reply: str,
    call: dict[str, Any] | None,
    finish: str,
    usage: dict[str, Any],
    body: dict[str, Any],
) -> list[bytes]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {**envelope, "object": "chat.completion.chunk"}
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return event({**base, "choices": [choice]})

    events = [
        chunk({"role": "assistant", "content": "" if call is None else None, "refusal": None})
    ]
    if call is None:
        events += [chunk({"content": piece}) for piece in pieces(reply)]
    else:
        opening = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [opening]}))
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in pieces(reply)
        ]
    events.append(chunk({}, finish))
    if include_usage:
        events.append(event({**base, "choices": [], "usage": usage}))
    events.append(DONE)
    return events
