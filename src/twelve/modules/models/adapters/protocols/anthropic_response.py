"""Anthropic Messages responses and stream events as OpenAI chat completions and chunks.

The stream translation is a small state machine: `message_start` opens the chunk sequence with
the assistant role, text and tool-input deltas become content and tool-call deltas, and
`message_stop` closes it with the finish reason and then a usage chunk with no choices, which is
what OpenAI sends when `stream_options.include_usage` is set.
https://docs.anthropic.com/en/api/messages-streaming
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from twelve.modules.models.adapters.upstream_errors import error_in_stream
from twelve.modules.models.api import JSONObject

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def to_chat_completion(message: JSONObject) -> JSONObject:
    """A non-streaming Messages response as a `chat.completion`."""
    text: list[str] = []
    tool_calls: list[JSONObject] = []
    for block in message.get("content") or ():
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {
                        "name": block["name"],
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    content = "".join(text)
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": content if content or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        reply["tool_calls"] = tool_calls
    return {
        "id": message.get("id", ""),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish_reason(message.get("stop_reason")),
            }
        ],
        "usage": to_usage(message.get("usage") or {}),
    }


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def to_usage(usage: JSONObject) -> JSONObject:
    """Anthropic counts cached prompt tokens apart from `input_tokens`; OpenAI counts them in."""
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cache_read + cache_write
    completion = int(usage.get("output_tokens") or 0)
    details: dict[str, int] = {"cached_tokens": cache_read}
    if cache_write:
        details["cache_write_tokens"] = cache_write
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }


class ChunkTranslator:
    """Turns the events of one Messages stream into `chat.completion.chunk` objects."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        self._secrets = secrets
        self._id = ""
        self._model = ""
        self._created = 0
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._tool_index: dict[int, int] = {}  # content block index -> OpenAI tool call index
        self.finished = False

    def translate(self, event: JSONObject) -> list[JSONObject]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._id = message.get("id", "")
            self._model = message.get("model", "")
            self._created = int(time.time())
            self._usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "message_delta":
            self._stop_reason = (event.get("delta") or {}).get("stop_reason", self._stop_reason)
            # `usage` here is cumulative: it replaces what message_start said.
            self._usage.update(
                {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            )
            return []
        if kind == "message_stop":
            self.finished = True
            final = self._chunk({}, finish_reason(self._stop_reason))
            usage = {**self._envelope(), "choices": [], "usage": to_usage(self._usage)}
            return [final, usage]
        if kind == "error":
            raise error_in_stream(event, self._secrets)
        # ping, content_block_stop, and event types added after this was written.
        return []

    def _block_start(self, event: JSONObject) -> list[JSONObject]:
        block = event.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") != "tool_use":
            # Thinking blocks have no place in an OpenAI chat completion.
            return []
        index = self._tool_index.setdefault(event.get("index", 0), len(self._tool_index))
        call = {
            "index": index,
            "id": block.get("id", ""),
            "type": "function",
            "function": {"name": block.get("name", ""), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, event: JSONObject) -> list[JSONObject]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if delta.get("type") == "input_json_delta":
            index = self._tool_index.get(event.get("index", 0))
            if index is None or not delta.get("partial_json"):
                return []
            call = {"index": index, "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [call]})]
        return []

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def _chunk(self, delta: JSONObject, finish: str | None = None) -> JSONObject:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**self._envelope(), "choices": [choice]}
