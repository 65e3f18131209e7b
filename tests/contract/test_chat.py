"""Chat conformance: plain, streaming, tools and usage, the same for every protocol adapter."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from tests.contract.conftest import Connect
from tests.fakes.upstream import FakeUpstream
from tests.support.openai_spec import validate
from tests.support.tools import WEATHER_TOOL
from twelve.modules.models.api import CHAT

NO_HEADERS: dict[str, str] = {}


def chat_body(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "client-name", "messages": [{"role": "user", "content": text}], **extra}


async def collect(chunks: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk async for chunk in chunks]


async def test_plain_chat(connect: Connect, fake: FakeUpstream) -> None:
    response = await connect("gpt-fake").call(CHAT, chat_body(), NO_HEADERS)

    validate(response, "CreateChatCompletionResponse")
    [choice] = response["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "echo: hello there"
    assert choice["finish_reason"] == "stop"
    assert fake.requests[-1].json["model"] == "gpt-fake"


async def test_usage_counts_every_input_word(connect: Connect) -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "one two three"}]},
        ],
    }
    response = await connect("gpt-fake").call(CHAT, body, NO_HEADERS)

    usage = response["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (5, 4)
    assert usage["total_tokens"] == 9


async def test_max_tokens_reached_is_length(connect: Connect) -> None:
    response = await connect("gpt-fake").call(
        CHAT, chat_body("a b c d e f", max_tokens=2), NO_HEADERS
    )

    assert response["choices"][0]["finish_reason"] == "length"
    assert response["choices"][0]["message"]["content"] == "echo: a"


async def test_streaming_chat(connect: Connect) -> None:
    chunks = await collect(connect("gpt-fake").stream(CHAT, chat_body(), NO_HEADERS))

    for chunk in chunks:
        validate(chunk, "CreateChatCompletionStreamResponse")
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    *with_choices, usage_chunk = chunks
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in with_choices)
    assert text == "echo: hello there"
    finishes = [c["choices"][0]["finish_reason"] for c in with_choices]
    assert finishes[-1] == "stop"
    assert not any(finishes[:-1])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] == 2
    assert usage_chunk["usage"]["completion_tokens"] == 3
    assert usage_chunk["usage"]["total_tokens"] == 5


async def test_tool_call_round_trip(connect: Connect) -> None:
    port = connect("tool")
    first = await port.call(CHAT, chat_body("Paris", tools=[WEATHER_TOOL]), NO_HEADERS)

    validate(first, "CreateChatCompletionResponse")
    [choice] = first["choices"]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}

    history = [
        {"role": "user", "content": "Paris"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    second = await port.call(
        CHAT, {"model": "m", "messages": history, "tools": [WEATHER_TOOL]}, NO_HEADERS
    )

    validate(second, "CreateChatCompletionResponse")
    assert second["choices"][0]["message"]["content"] == "echo: sunny"
    assert second["choices"][0]["finish_reason"] == "stop"


async def test_streamed_tool_call(connect: Connect) -> None:
    body = chat_body("Paris", tools=[WEATHER_TOOL], tool_choice="required")
    chunks = await collect(connect("tool").stream(CHAT, body, NO_HEADERS))

    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        validate(chunk, "CreateChatCompletionStreamResponse")
        for choice in chunk["choices"]:
            for delta in choice["delta"].get("tool_calls") or ():
                call = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] += delta.get("id", "")
                call["name"] += delta.get("function", {}).get("name", "")
                call["arguments"] += delta.get("function", {}).get("arguments", "")
    [call] = calls.values()
    assert call["id"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_image_content_parts_are_accepted(connect: Connect) -> None:
    content = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    response = await connect("gpt-fake").call(
        CHAT, {"model": "m", "messages": [{"role": "user", "content": content}]}, NO_HEADERS
    )

    assert response["choices"][0]["message"]["content"] == "echo: what is this"


async def test_closing_a_stream_early_is_clean(connect: Connect) -> None:
    stream = connect("gpt-fake").stream(CHAT, chat_body("a b c d e f g"), NO_HEADERS)
    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]

    assert first["choices"][0]["delta"]["role"] == "assistant"
