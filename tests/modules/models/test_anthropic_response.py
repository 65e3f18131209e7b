"""Anthropic Messages responses and stream events translated to OpenAI chat completions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.openai_spec import validate
from twelve.kernel.errors import UpstreamError
from twelve.modules.models.adapters.protocols.anthropic_response import (
    ChunkTranslator,
    to_chat_completion,
)


def message(**fields: Any) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "hello"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 2},
        **fields,
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
        ("something_new", "stop"),
    ],
)
def test_finish_reasons(stop_reason: Any, finish_reason: str) -> None:
    completion = to_chat_completion(message(stop_reason=stop_reason))

    validate(completion, "CreateChatCompletionResponse")
    assert completion["choices"][0]["finish_reason"] == finish_reason


def test_text_and_tool_use() -> None:
    content = [
        {"type": "text", "text": "Let me check. "},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"city": "Paris"}},
    ]
    completion = to_chat_completion(message(content=content, stop_reason="tool_use"))

    validate(completion, "CreateChatCompletionResponse")
    reply = completion["choices"][0]["message"]
    assert reply["content"] == "Let me check. "
    assert reply["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "f", "arguments": '{"city":"Paris"}'},
        }
    ]


def test_cached_prompt_tokens_count_as_prompt_tokens() -> None:
    usage = {
        "input_tokens": 5,
        "output_tokens": 3,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
    }
    completion = to_chat_completion(message(usage=usage))

    assert completion["usage"] == {
        "prompt_tokens": 125,
        "completion_tokens": 3,
        "total_tokens": 128,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
    }


def events_for_two_tools() -> list[dict[str, Any]]:
    start = message(content=[], stop_reason=None, usage={"input_tokens": 7, "output_tokens": 1})
    return [
        {"type": "message_start", "message": start},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "ok"}},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "t1", "name": "a", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"x":'},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": "1}"},
        },
        {
            "type": "content_block_start",
            "index": 3,
            "content_block": {"type": "tool_use", "id": "t2", "name": "b", "input": {}},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]


def test_a_stream_with_text_and_two_tool_calls() -> None:
    translator = ChunkTranslator()
    chunks = [chunk for event in events_for_two_tools() for chunk in translator.translate(event)]

    for chunk in chunks:
        validate(chunk, "CreateChatCompletionStreamResponse")
    assert translator.finished
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"content": "ok"}
    tool_deltas = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert [(d["index"], d.get("id")) for d in tool_deltas] == [
        (0, "t1"),
        (0, None),
        (0, None),
        (1, "t2"),
    ]
    assert "".join(d["function"]["arguments"] for d in tool_deltas if d["index"] == 0) == '{"x":1}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 7
    assert chunks[-1]["usage"]["completion_tokens"] == 9


def test_an_error_event_raises() -> None:
    translator = ChunkTranslator(secrets=("sk-ant-secret",))
    event = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded sk-ant-secret"},
    }

    with pytest.raises(UpstreamError) as caught:
        translator.translate(event)
    assert caught.value.retryable is False
    assert "Overloaded" in caught.value.message
    assert "sk-ant-secret" not in caught.value.message
