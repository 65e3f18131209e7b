"""Completions and embeddings conformance, run for the adapters whose provider declares them.

Adapters are skipped by declared capabilities, never by name; an adapter that does not declare
a capability must refuse it with a client error rather than call the upstream.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from tests.contract.conftest import Connect
from tests.contract.test_chat import NO_HEADERS, collect
from tests.fakes.upstream import FakeUpstream
from tests.support.openai_spec import validate
from twelve.kernel.errors import InvalidRequest, UpstreamError
from twelve.modules.models.adapters.provider import Provider
from twelve.modules.models.api import COMPLETIONS, EMBEDDINGS, Capability


def require(provider: Provider, capability: Capability) -> None:
    if capability not in provider.capabilities:
        pytest.skip(f"provider {provider.name} does not declare {capability}")


async def test_completion(connect: Connect, provider: Provider) -> None:
    require(provider, "completions")
    response = await connect("gpt-fake").call(
        COMPLETIONS, {"model": "m", "prompt": "once upon a time"}, NO_HEADERS
    )

    validate(response, "CreateCompletionResponse")
    assert response["choices"][0]["text"] == "echo: once upon a time"
    assert response["usage"]["prompt_tokens"] == 4
    assert response["usage"]["completion_tokens"] == 5


async def test_streaming_completion(connect: Connect, provider: Provider) -> None:
    require(provider, "completions")
    chunks = await collect(
        connect("gpt-fake").stream(COMPLETIONS, {"model": "m", "prompt": "once upon"}, NO_HEADERS)
    )

    for chunk in chunks:
        validate(_as_schema_allows(chunk), "CreateCompletionResponse")
    *with_choices, usage_chunk = chunks
    assert "".join(c["choices"][0]["text"] for c in with_choices) == "echo: once upon"
    assert with_choices[-1]["choices"][0]["finish_reason"] == "stop"
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] == 2 + 3


def _as_schema_allows(chunk: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's schema shares one shape for completions and their chunks, with a non-null
    `finish_reason`, but the API (and every compatible server) sends `null` until the end."""
    choices = [{**c, "finish_reason": c["finish_reason"] or "stop"} for c in chunk["choices"]]
    return {**chunk, "choices": choices}


async def test_streaming_completion_errors_before_first_chunk(
    connect: Connect, provider: Provider
) -> None:
    require(provider, "completions")
    stream = connect("fail-500").stream(COMPLETIONS, {"model": "m", "prompt": "x"}, NO_HEADERS)

    with pytest.raises(UpstreamError) as caught:
        await anext(stream)
    assert caught.value.status == 502


async def test_embeddings(connect: Connect, provider: Provider) -> None:
    require(provider, "embeddings")
    port = connect("embed-fake")
    response = await port.call(
        EMBEDDINGS, {"model": "m", "input": ["alpha beta", "gamma"]}, NO_HEADERS
    )

    validate(response, "CreateEmbeddingResponse")
    assert [item["index"] for item in response["data"]] == [0, 1]
    assert all(len(item["embedding"]) == 8 for item in response["data"])
    assert response["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    again = await port.call(EMBEDDINGS, {"model": "m", "input": "alpha beta"}, NO_HEADERS)
    assert again["data"][0]["embedding"] == response["data"][0]["embedding"]


async def test_embeddings_dimensions_and_base64(connect: Connect, provider: Provider) -> None:
    require(provider, "embeddings")
    port = connect("embed-fake")
    floats = await port.call(EMBEDDINGS, {"model": "m", "input": "x", "dimensions": 16}, NO_HEADERS)
    packed = await port.call(
        EMBEDDINGS,
        {"model": "m", "input": "x", "dimensions": 16, "encoding_format": "base64"},
        NO_HEADERS,
    )

    vector = floats["data"][0]["embedding"]
    assert len(vector) == 16
    decoded = struct.unpack("<16f", base64.b64decode(packed["data"][0]["embedding"]))
    assert decoded == pytest.approx(vector, abs=1e-6)


async def test_undeclared_capabilities_are_refused(
    connect: Connect, provider: Provider, fake: FakeUpstream
) -> None:
    port = connect("gpt-fake")
    if "completions" not in provider.capabilities:
        with pytest.raises(InvalidRequest):
            await port.call(COMPLETIONS, {"model": "m", "prompt": "x"}, NO_HEADERS)
        with pytest.raises(InvalidRequest):
            await anext(port.stream(COMPLETIONS, {"model": "m", "prompt": "x"}, NO_HEADERS))
    if "embeddings" not in provider.capabilities:
        with pytest.raises(InvalidRequest):
            await port.call(EMBEDDINGS, {"model": "m", "input": "x"}, NO_HEADERS)
    if provider.capabilities >= {"completions", "embeddings"}:
        pytest.skip(f"provider {provider.name} declares every capability")
    assert fake.requests == []
