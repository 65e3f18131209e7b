"""Error conformance: every adapter maps upstream failures to the same `UpstreamError`s.

Status and connection errors raise before a stream yields anything; a stream that breaks after
it started raises a non-retryable error from the iterator.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.contract.conftest import API_KEY, Connect
from tests.contract.test_chat import NO_HEADERS, chat_body
from twelve.kernel.errors import UpstreamError, UpstreamTimeout
from twelve.modules.models.api import CHAT


async def first_chunk(chunks: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await anext(chunks)


async def drain(chunks: AsyncIterator[dict[str, Any]], into: list[dict[str, Any]]) -> None:
    async for chunk in chunks:
        into.append(chunk)


@pytest.mark.parametrize(
    ("upstream_status", "status", "type_", "kind"),
    [
        (400, 400, "invalid_request_error", "upstream_4xx"),
        (401, 401, "authentication_error", "auth"),
        (403, 403, "permission_error", "auth"),
        (404, 404, "invalid_request_error", "upstream_4xx"),
        (413, 413, "invalid_request_error", "upstream_4xx"),
        (422, 400, "invalid_request_error", "upstream_4xx"),
    ],
)
async def test_client_errors_pass_through_not_retryable(
    connect: Connect, upstream_status: int, status: int, type_: str, kind: str
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await connect(f"fail-{upstream_status}").call(CHAT, chat_body(), NO_HEADERS)

    error = caught.value
    assert (error.status, error.type, error.kind) == (status, type_, kind)
    assert error.retryable is False
    if upstream_status != 401:
        assert f"HTTP {upstream_status} as asked" in error.message


async def test_rate_limit_is_retryable_with_retry_after(connect: Connect) -> None:
    with pytest.raises(UpstreamError) as caught:
        await connect("fail-429").call(CHAT, chat_body(), NO_HEADERS)

    error = caught.value
    assert (error.status, error.type, error.kind) == (429, "rate_limit_error", "rate_limit")
    assert error.retryable is True
    assert error.headers == {"Retry-After": "1"}


@pytest.mark.parametrize("upstream_status", [500, 502, 503, 529])
async def test_server_errors_become_retryable_502(connect: Connect, upstream_status: int) -> None:
    with pytest.raises(UpstreamError) as caught:
        await connect(f"fail-{upstream_status}").call(CHAT, chat_body(), NO_HEADERS)

    error = caught.value
    assert (error.status, error.kind, error.retryable) == (502, "upstream_5xx", True)
    assert f"HTTP {upstream_status}" in error.message


async def test_wrong_key_is_an_auth_error_that_never_shows_a_key(connect: Connect) -> None:
    wrong = "sk-wrong-key-0123456789"
    with pytest.raises(UpstreamError) as caught:
        await connect("gpt-fake", api_key=wrong).call(CHAT, chat_body(), NO_HEADERS)

    error = caught.value
    assert (error.status, error.kind, error.retryable) == (401, "auth", False)
    assert wrong not in error.message
    assert API_KEY not in error.message
    assert "sk-" not in error.message


async def test_context_length_error_is_recognised(connect: Connect) -> None:
    with pytest.raises(UpstreamError) as caught:
        await connect("fail-context").call(CHAT, chat_body(), NO_HEADERS)

    error = caught.value
    assert (error.status, error.kind, error.code) == (
        400,
        "context_length",
        "context_length_exceeded",
    )
    assert error.retryable is False


async def test_content_filter_error_is_recognised(connect: Connect) -> None:
    with pytest.raises(UpstreamError) as caught:
        await connect("fail-filter").call(CHAT, chat_body(), NO_HEADERS)

    assert (caught.value.status, caught.value.kind) == (400, "content_filter")


async def test_flaky_upstream_fails_retryably_then_answers(connect: Connect) -> None:
    port = connect("flaky-1")
    with pytest.raises(UpstreamError) as caught:
        await port.call(CHAT, chat_body(), NO_HEADERS)
    assert caught.value.retryable is True

    response = await port.call(CHAT, chat_body(), NO_HEADERS)
    assert response["choices"][0]["message"]["content"] == "echo: hello there"


async def test_timeout_is_504(connect: Connect) -> None:
    with pytest.raises(UpstreamTimeout) as caught:
        await connect("slow-2000", timeout=0.2).call(CHAT, chat_body(), NO_HEADERS)

    assert (caught.value.status, caught.value.kind, caught.value.retryable) == (
        504,
        "timeout",
        True,
    )


async def test_stream_timeout_before_first_byte_is_504(connect: Connect) -> None:
    stream = connect("slow-2000", timeout=0.2).stream(CHAT, chat_body(), NO_HEADERS)
    with pytest.raises(UpstreamTimeout):
        await first_chunk(stream)


async def test_connection_refused_is_retryable_502(connect: Connect) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    port = connect("gpt-fake", base_url=f"http://127.0.0.1:{closed_port}/v1")

    with pytest.raises(UpstreamError) as caught:
        await port.call(CHAT, chat_body(), NO_HEADERS)
    assert (caught.value.status, caught.value.kind, caught.value.retryable) == (
        502,
        "connection",
        True,
    )
    with pytest.raises(UpstreamError) as streamed:
        await first_chunk(port.stream(CHAT, chat_body(), NO_HEADERS))
    assert streamed.value.kind == "connection"


@pytest.mark.parametrize("model", ["fail-400", "fail-429", "fail-500"])
async def test_stream_status_errors_raise_before_the_first_chunk(
    connect: Connect, model: str
) -> None:
    received: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError):
        await drain(connect(model).stream(CHAT, chat_body(), NO_HEADERS), received)

    assert received == []


async def test_stream_cut_mid_way_raises_not_retryable(connect: Connect) -> None:
    received: list[dict[str, Any]] = []
    stream = connect("cut-3").stream(CHAT, chat_body("a b c d e f"), NO_HEADERS)
    with pytest.raises(UpstreamError) as caught:
        await drain(stream, received)

    assert received, "the cut comes after the stream started"
    assert caught.value.retryable is False


async def test_error_event_mid_stream_raises_not_retryable(connect: Connect) -> None:
    received: list[dict[str, Any]] = []
    stream = connect("midfail-4").stream(CHAT, chat_body("a b c d"), NO_HEADERS)
    with pytest.raises(UpstreamError) as caught:
        await drain(stream, received)

    assert received
    assert caught.value.retryable is False


async def test_cut_without_streaming_is_a_retryable_connection_error(connect: Connect) -> None:
    with pytest.raises(UpstreamError) as caught:
        await connect("cut-0").call(CHAT, chat_body(), NO_HEADERS)

    assert (caught.value.kind, caught.value.retryable) == ("connection", True)


async def test_stream_that_stalls_mid_way_times_out_not_retryable(connect: Connect) -> None:
    received: list[dict[str, Any]] = []
    stream = connect("stall-3", timeout=0.5).stream(CHAT, chat_body("a b c d"), NO_HEADERS)
    with pytest.raises(UpstreamError) as caught:
        await drain(stream, received)

    assert received
    assert (caught.value.status, caught.value.kind, caught.value.retryable) == (
        504,
        "timeout",
        False,
    )
