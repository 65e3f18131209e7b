"""Anthropic Messages responses and stream events as OpenAI chat completions and chunks.

The stream translation is a small state machine: `message_start` opens the chunk sequence with
the assistant role, text and tool-input deltas become content and tool-call deltas, and
`message_stop` closes it with the finish reason and then a usage chunk with no choices, which is
what OpenAI sends when `stream_options.include_usage` is set.
Every field read is checked (`AnthropicShape`): a wrong shape is a 502 naming the deployment,
never a stack trace. https://docs.anthropic.com/en/api/messages-streaming
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from twelve.modules.models.adapters.protocols.anthropic_shape import AnthropicShape
from twelve.modules.models.adapters.upstream_errors import ANONYMOUS, error_in_stream
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


def to_chat_completion(message: JSONObject, label: str = ANONYMOUS) -> JSONObject:
    """A non-streaming Messages response as a `chat.completion`."""
    shape = AnthropicShape(label, retryable=True)
    text: list[str] = []
    tool_calls: list[JSONObject] = []
    if not isinstance(message.get("content"), list):
        raise shape.bad("`content` is not a list of blocks")
    for block in shape.objects(message.get("content"), "content"):
        if block.get("type") == "text":
            text.append(shape.text(block.get("text"), "content[].text"))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": shape.required_text(block.get("id"), "tool_use.id"),
                    "type": "function",
                    "function": {
                        "name": shape.required_text(block.get("name"), "tool_use.name"),
                        "arguments": orjson.dumps(
                            shape.object(block.get("input"), "tool_use.input")
                        ).decode(),
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
        "id": shape.text(message.get("id"), "id"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": shape.text(message.get("model"), "model"),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish_reason(message.get("stop_reason")),
            }
        ],
        "usage": to_usage(shape.object(message.get("usage"), "usage"), shape),
    }


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def to_usage(usage: JSONObject, shape: AnthropicShape | None = None) -> JSONObject:
    """Anthropic counts cached prompt tokens apart from `input_tokens`; OpenAI counts them in."""
    shape = shape or AnthropicShape(ANONYMOUS, retryable=True)
    cache_read = shape.count(usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens")
    cache_write = shape.count(
        usage.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens"
    )
    prompt = shape.count(usage.get("input_tokens"), "usage.input_tokens") + cache_read + cache_write
    completion = shape.count(usage.get("output_tokens"), "usage.output_tokens")
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

    def __init__(self, secrets: Sequence[str] = (), label: str = ANONYMOUS) -> None:
        self._secrets = secrets
        self._label = label
        self._shape = AnthropicShape(label, retryable=False)
        self._id = ""
        self._model = ""
        self._created = 0
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._tool_index: dict[int, int] = {}  # content block index -> OpenAI tool call index
        self.finished = False

    def translate(self, event: JSONObject) -> list[JSONObject]:
        shape = self._shape
        kind = event.get("type")
        if kind == "message_start":
            message = shape.object(event.get("message"), "message_start.message")
            self._id = shape.text(message.get("id"), "message.id")
            self._model = shape.text(message.get("model"), "message.model")
            self._created = int(time.time())
            self._usage.update(shape.object(message.get("usage"), "message.usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "message_delta":
            delta = shape.object(event.get("delta"), "message_delta.delta")
            self._stop_reason = delta.get("stop_reason", self._stop_reason)
            # `usage` here is cumulative: it replaces what message_start said.
            usage = shape.object(event.get("usage"), "message_delta.usage")
            self._usage.update({k: v for k, v in usage.items() if v is not None})
            return []
        if kind == "message_stop":
            self.finished = True
            final = self._chunk({}, finish_reason(self._stop_reason))
            usage = {**self._envelope(), "choices": [], "usage": to_usage(self._usage, shape)}
            return [final, usage]
        if kind == "error":
            raise error_in_stream(event, self._secrets, self._label)
        # ping, content_block_stop, and event types added after this was written.
        return []

    def _block_start(self, event: JSONObject) -> list[JSONObject]:
        shape = self._shape
        block = shape.object(event.get("content_block"), "content_block")
        if block.get("type") == "text":
            text = shape.text(block.get("text"), "content_block.text")
            return [self._chunk({"content": text})] if text else []
        if block.get("type") != "tool_use":
            # Thinking blocks have no place in an OpenAI chat completion.
            return []
        position = shape.index(event.get("index"))
        index = self._tool_index.setdefault(position, len(self._tool_index))
        call = {
            "index": index,
            "id": shape.required_text(block.get("id"), "tool_use.id"),
            "type": "function",
            "function": {
                "name": shape.required_text(block.get("name"), "tool_use.name"),
                "arguments": "",
            },
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, event: JSONObject) -> list[JSONObject]:
        shape = self._shape
        delta = shape.object(event.get("delta"), "content_block_delta.delta")
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": shape.text(delta.get("text"), "delta.text")})]
        if delta.get("type") == "input_json_delta":
            index = self._tool_index.get(shape.index(event.get("index")))
            partial = shape.text(delta.get("partial_json"), "delta.partial_json")
            if index is None or not partial:
                return []
            call = {"index": index, "function": {"arguments": partial}}
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
