"""What the OpenAI wire adapter sends upstream: the client's body, with the upstream's model id."""

from __future__ import annotations

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.endpoint import Endpoint
from twelve.modules.models.adapters.protocols.openai_wire import OpenAIWire
from twelve.modules.models.api import CHAT, COMPLETIONS, EMBEDDINGS

NO_HEADERS: dict[str, str] = {}


def wire(fake: FakeUpstream, http: HttpClient, **endpoint: object) -> OpenAIWire:
    fields: dict[str, object] = {
        "base_url": f"{fake.base_url}/v1",
        "upstream_model": "gpt-fake",
        "timeout": 5.0,
        "headers": {"X-Extra": "1"},
        **endpoint,
    }
    return OpenAIWire(http, Endpoint(**fields))  # type: ignore[arg-type]


async def test_the_body_passes_through_with_the_upstream_model(
    fake: FakeUpstream, http: HttpClient
) -> None:
    body = {
        "model": "client-name",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.2,
        "response_format": {"type": "json_object"},
        "stream": False,
    }
    await wire(fake, http).call(
        CHAT, body, {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    )

    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    # `stream: false` is dropped with any stream options: they are for streams only.
    expected = {key: value for key, value in body.items() if key != "stream"}
    assert sent.json == {**expected, "model": "gpt-fake"}
    assert sent.headers["x-extra"] == "1"
    assert sent.headers["traceparent"].startswith("00-111")


async def test_streams_always_ask_for_usage(fake: FakeUpstream, http: HttpClient) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream_options": {"include_usage": False, "include_obfuscation": False},
    }
    chunks = [c async for c in wire(fake, http).stream(CHAT, body, NO_HEADERS)]
    [
        c
        async for c in wire(fake, http).stream(
            COMPLETIONS, {"model": "m", "prompt": "x"}, NO_HEADERS
        )
    ]

    chat, completion = fake.requests
    assert chat.json["stream"] is True
    assert chat.json["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert completion.json["stream_options"] == {"include_usage": True}
    assert chunks[-1]["usage"]["total_tokens"] == 1 + 2


async def test_non_streaming_calls_drop_stream_options(
    fake: FakeUpstream, http: HttpClient
) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = await wire(fake, http).call(CHAT, body, NO_HEADERS)

    assert response["object"] == "chat.completion"
    assert "stream" not in fake.requests[0].json
    assert "stream_options" not in fake.requests[0].json


async def test_a_default_max_tokens_is_sent_only_when_the_client_sets_none(
    fake: FakeUpstream, http: HttpClient
) -> None:
    port = wire(fake, http, default_max_tokens=64)
    messages = [{"role": "user", "content": "hi"}]
    await port.call(CHAT, {"messages": messages}, NO_HEADERS)
    await port.call(CHAT, {"messages": messages, "max_completion_tokens": 5}, NO_HEADERS)

    first, second = fake.requests
    assert first.json["max_tokens"] == 64
    assert "max_tokens" not in second.json


async def test_embeddings_pass_through(fake: FakeUpstream, http: HttpClient) -> None:
    body = {"model": "m", "input": ["a", "b"], "dimensions": 4, "user": "u"}
    response = await wire(fake, http).call(EMBEDDINGS, body, NO_HEADERS)

    assert fake.requests[0].path == "/v1/embeddings"
    assert fake.requests[0].json == {**body, "model": "gpt-fake"}
    assert [len(d["embedding"]) for d in response["data"]] == [4, 4]
