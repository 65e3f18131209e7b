"""The official `openai` SDK against a running Twelve: every public endpoint, plain and streamed,
on an OpenAI-protocol and an Anthropic-protocol deployment, with raw JSON checked against the spec.
"""

from __future__ import annotations

import asyncio
import base64
import struct

import httpx
import orjson
import pytest
from openai import APIError, AsyncOpenAI, NotFoundError, OpenAI
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionMessageParam,
)

from tests.e2e.server import TwelveServer
from tests.e2e.stack import MODELS, UPSTREAM_KEY, IssueKey, sent_upstream
from tests.e2e.wire import DONE, sse_chunks, sse_data
from tests.fakes.upstream import FakeUpstream
from tests.support.openai_spec import validate
from tests.support.tools import WEATHER_TOOL


def test_models_list(client: OpenAI) -> None:
    raw = client.models.with_raw_response.list()
    validate(raw.http_response.json(), "ListModelsResponse")
    assert [m.id for m in raw.parse()] == list(MODELS)


def test_models_retrieve(client: OpenAI) -> None:
    model = client.models.retrieve("claude")
    assert (model.id, model.object) == ("claude", "model")


def test_chat(client: OpenAI, upstream: FakeUpstream) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "hello sdk chat"}]
    )
    validate(raw.http_response.json(), "CreateChatCompletionResponse")
    completion = raw.parse()
    assert completion.model == "echo"
    assert completion.choices[0].message.content == "echo: hello sdk chat"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 4)
    assert raw.headers["x-twelve-provider"] == "openai"
    assert raw.headers["x-twelve-deployment"] == "echo/openai/gpt-echo"
    assert raw.headers["x-twelve-attempts"] == "1"
    assert raw.headers["x-request-id"]
    sent = sent_upstream(upstream, "hello sdk chat")
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == "gpt-echo"
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"


async def test_chat_async_on_anthropic(async_client: AsyncOpenAI, upstream: FakeUpstream) -> None:
    raw = await async_client.chat.completions.with_raw_response.create(
        model="claude",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello anthropic"},
        ],
    )
    validate(raw.http_response.json(), "CreateChatCompletionResponse")
    completion = raw.parse()
    assert completion.model == "claude"
    assert completion.choices[0].message.content == "echo: hello anthropic"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3
    assert raw.headers["x-twelve-provider"] == "anthropic"
    sent = sent_upstream(upstream, "hello anthropic")
    assert sent.path == "/v1/messages"
    assert sent.json["model"] == "claude-echo"
    assert sent.headers["x-api-key"] == UPSTREAM_KEY


def test_chat_stream(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "stream me please"}], stream=True
    )
    with stream:
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream me please"
    assert all(c.usage is None for c in chunks)
    assert all(c.model == "echo" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", ["echo", "claude"])
async def test_chat_stream_with_usage(async_client: AsyncOpenAI, model: str) -> None:
    stream = await async_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "count these words"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: count these words"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (3, 4)
    assert last.usage.total_tokens == 7
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_stream_raw_chunks_match_spec(api: httpx.Client, include_usage: bool) -> None:
    body = {
        "model": "echo",
        "messages": [{"role": "user", "content": "raw stream"}],
        "stream": True,
        "stream_options": {"include_usage": include_usage},
    }
    with api.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["x-twelve-deployment"] == "echo/openai/gpt-echo"
        chunks = sse_chunks(response)
    for chunk in chunks:
        validate(chunk, "CreateChatCompletionStreamResponse")
        assert chunk["model"] == "echo"
    assert any("usage" in c and c["usage"] for c in chunks) is include_usage


@pytest.mark.parametrize("model", ["tools", "claude-tools"])
def test_chat_tool_call(client: OpenAI, model: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": "Paris"}],
        tools=[WEATHER_TOOL],
    )
    validate(raw.http_response.json(), "CreateChatCompletionResponse")
    choice = raw.parse().choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}
    follow_up = client.chat.completions.create(
        model=model,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "Paris"},
            {"role": "assistant", "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )
    assert follow_up.choices[0].message.content == "echo: sunny"


@pytest.mark.parametrize("model", ["tools", "claude-tools"])
async def test_chat_tool_call_stream(async_client: AsyncOpenAI, model: str) -> None:
    stream = await async_client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Oslo"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    name, arguments, finish = "", "", None
    async for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                name += (call.function and call.function.name) or ""
                arguments += (call.function and call.function.arguments) or ""
    assert (name, orjson.loads(arguments), finish) == (
        "get_weather",
        {"city": "Oslo"},
        "tool_calls",
    )


def test_completions(client: OpenAI) -> None:
    raw = client.completions.with_raw_response.create(model="echo", prompt="complete this")
    validate(raw.http_response.json(), "CreateCompletionResponse")
    completion = raw.parse()
    assert completion.model == "echo"
    assert completion.choices[0].text == "echo: complete this"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 2


async def test_completions_stream(async_client: AsyncOpenAI) -> None:
    stream = await async_client.completions.create(
        model="echo", prompt="stream a completion", stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: stream a completion"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 3
    assert all(c.model == "echo" for c in chunks)


def test_completions_stream_raw(api: httpx.Client) -> None:
    body = {"model": "echo", "prompt": "raw completion", "stream": True}
    with api.stream("POST", "/v1/completions", json=body) as response:
        assert response.status_code == 200
        chunks = sse_chunks(response)
    # The spec has no schema for completion chunks: they are `CreateCompletionResponse`s whose
    # `finish_reason` is null until the last one (as OpenAI streams them), which the schema forbids.
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    for chunk in chunks:
        choices = [c | {"finish_reason": c["finish_reason"] or "stop"} for c in chunk["choices"]]
        validate(chunk | {"choices": choices}, "CreateCompletionResponse")
    assert "".join(c["choices"][0]["text"] for c in chunks) == "echo: raw completion"


def test_embeddings_float(client: OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="embed", input=["first text", "second"], encoding_format="float"
    )
    validate(raw.http_response.json(), "CreateEmbeddingResponse")
    result = raw.parse()
    assert result.model == "embed"
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 3


async def test_embeddings_base64_by_sdk_default(async_client: AsyncOpenAI) -> None:
    """The SDK asks for base64 unless told otherwise and decodes it: same vectors as float."""
    raw = await async_client.embeddings.with_raw_response.create(model="embed", input="same text")
    wire = raw.http_response.json()
    assert isinstance(wire["data"][0]["embedding"], str)
    decoded = struct.unpack("<8f", base64.b64decode(wire["data"][0]["embedding"]))
    as_floats = await async_client.embeddings.create(
        model="embed", input="same text", encoding_format="float"
    )
    from_sdk = raw.parse().data[0].embedding
    assert from_sdk == pytest.approx(list(decoded))
    assert from_sdk == pytest.approx(as_floats.data[0].embedding, abs=1e-6)


@pytest.mark.parametrize("model", ["cut", "claude-cut", "midfail"])
def test_stream_failing_midway_raises_in_the_sdk(client: OpenAI, model: str) -> None:
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "one two three four"}], stream=True
    )
    received: list[ChatCompletionChunk] = []

    def read_all() -> None:
        with stream:
            received.extend(stream)

    with pytest.raises(APIError):
        read_all()
    assert 1 <= len(received) <= 3
    assert "".join(c.choices[0].delta.content or "" for c in received if c.choices) != (
        "echo: one two three four"
    )


@pytest.mark.parametrize("model", ["cut", "claude-cut", "midfail"])
def test_stream_failing_midway_ends_with_an_error_event(api: httpx.Client, model: str) -> None:
    """Past the first byte the status is sent: the stream ends in an error event, not [DONE]."""
    body = {"model": model, "messages": [{"role": "user", "content": "a b c d e"}], "stream": True}
    with api.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        payloads = sse_data(response)
    assert DONE not in payloads
    last = orjson.loads(payloads[-1])
    validate(last, "ErrorResponse")
    assert last["error"]["type"]
    assert "Traceback" not in payloads[-1]


async def test_concurrent_requests_each_get_their_own_answer(async_client: AsyncOpenAI) -> None:
    """Many requests at once, plain and streamed, on both protocols: no answer crosses over."""

    async def ask(i: int) -> str:
        model, content = ("echo", "claude")[i % 2], f"request number {i}"
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": content}]
        if i % 3:
            done = await async_client.chat.completions.create(model=model, messages=messages)
            return done.choices[0].message.content or ""
        stream = await async_client.chat.completions.create(
            model=model, messages=messages, stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    answers = await asyncio.gather(*(ask(i) for i in range(40)))
    assert answers == [f"echo: request number {i}" for i in range(40)]


def test_a_model_the_key_may_not_see_is_not_found_everywhere(
    server: TwelveServer, issue_key: IssueKey
) -> None:
    """OpenAI's rule: for a key limited to `echo`, `claude` and `embed` do not exist, with the
    very message a model that is nowhere configured gets, on every route."""
    key = issue_key("only-echo-everywhere", models=["echo"])["key"]
    hello: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

    def messages(sdk: OpenAI, model: str) -> list[str]:
        calls = [
            lambda: sdk.chat.completions.create(model=model, messages=hello),
            lambda: sdk.chat.completions.create(model=model, messages=hello, stream=True),
            lambda: sdk.completions.create(model=model, prompt="hi"),
            lambda: sdk.embeddings.create(model=model, input="hi"),
            lambda: sdk.models.retrieve(model),
        ]
        found = []
        for call in calls:
            with pytest.raises(NotFoundError) as raised:
                call()
            body = raised.value.body
            assert isinstance(body, dict) and body["code"] == "model_not_found", body
            found.append(str(body["message"]).replace(f"`{model}`", "`M`"))
        return found

    with OpenAI(api_key=key, base_url=f"{server.base_url}/v1", max_retries=0) as sdk:
        assert [m.id for m in sdk.models.list()] == ["echo"]
        unknown = messages(sdk, "no-such-model")
        assert messages(sdk, "claude") == unknown
        assert messages(sdk, "embed") == unknown
