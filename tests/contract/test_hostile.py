"""The hostile upstream against every protocol adapter: whatever it does, the adapter answers with
an `UpstreamError` naming the deployment (never its URL or a secret), in bounded time and memory,
and never follows it anywhere.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.contract.conftest import API_KEY, DEPLOYMENT_ID, Connect
from tests.contract.test_chat import NO_HEADERS, chat_body
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_hostile import INTERNAL_URL, MALFORMED, hostile_app
from twelve.kernel.errors import UpstreamError, UpstreamTimeout
from twelve.modules.models.adapters.port import ProviderPort
from twelve.modules.models.api import CHAT

# Generous: two cores shared by many test processes. The point is "bounded", not "fast".
MARGIN = 5.0
DEADLINE = 0.5
CUSTOM_TOKEN = "tok-custom-7f3a9b"
SUBSCRIPTION = "sub-key-4c2e8d"


@pytest.fixture
def hostile(fake: FakeUpstream) -> Iterator[FakeUpstream]:
    """The hostile server; its redirects point at the friendly `fake`, which records requests."""
    with FakeUpstream(app=hostile_app(f"{fake.base_url}/v1/chat/completions")) as upstream:
        yield upstream


@pytest.fixture
def attack(connect: Connect, hostile: FakeUpstream) -> Connect:
    def make(model: str, **fields: Any) -> ProviderPort:
        return connect(model, base_url=f"{hostile.base_url}/v1", **fields)

    return make


async def drain(chunks: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk async for chunk in chunks]


async def exchange(port: ProviderPort, *, streaming: bool) -> None:
    """One chat call, streamed to the end or not."""
    if streaming:
        await drain(port.stream(CHAT, chat_body(), NO_HEADERS))
    else:
        await port.call(CHAT, chat_body(), NO_HEADERS)


def names_the_deployment(error: UpstreamError, hostile: FakeUpstream) -> None:
    assert f"Deployment `{DEPLOYMENT_ID}`" in error.message
    assert hostile.base_url not in error.message
    assert "127.0.0.1" not in error.message
    assert API_KEY not in error.message


async def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + MARGIN
    while not condition():
        assert time.monotonic() < deadline, "the upstream connection was never closed"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("streaming", [False, True])
async def test_redirects_are_never_followed(
    attack: Connect, fake: FakeUpstream, hostile: FakeUpstream, status: int, streaming: bool
) -> None:
    port = attack(f"redirect-{status}")
    with pytest.raises(UpstreamError) as caught:
        await exchange(port, streaming=streaming)

    assert fake.requests == []  # the redirect target never saw a request, let alone the key
    assert (caught.value.status, caught.value.retryable) == (502, False)
    assert f"redirect (HTTP {status})" in caught.value.message
    names_the_deployment(caught.value, hostile)


@pytest.mark.parametrize("model", ["ping-only", "blank-lines", "trickle"])
async def test_no_data_event_before_the_first_token_deadline_is_a_retryable_timeout(
    attack: Connect, hostile: FakeUpstream, model: str
) -> None:
    stream = attack(model, first_token_timeout=DEADLINE, idle_timeout=30).stream(
        CHAT, chat_body(), NO_HEADERS
    )
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        await anext(stream)

    assert time.monotonic() - started < DEADLINE + MARGIN
    assert (caught.value.status, caught.value.retryable) == (504, True)
    names_the_deployment(caught.value, hostile)
    await wait_for(lambda: model in hostile._state.abandoned)


async def test_a_gap_mid_stream_is_a_non_retryable_timeout(
    attack: Connect, hostile: FakeUpstream
) -> None:
    stream = attack("ping-after-first", first_token_timeout=30, idle_timeout=DEADLINE).stream(
        CHAT, chat_body(), NO_HEADERS
    )
    await anext(stream)
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        await drain(stream)

    assert time.monotonic() - started < DEADLINE + MARGIN
    assert not isinstance(caught.value, UpstreamTimeout)
    assert (caught.value.status, caught.value.kind, caught.value.retryable) == (
        504,
        "timeout",
        False,
    )
    names_the_deployment(caught.value, hostile)
    await wait_for(lambda: "ping-after-first" in hostile._state.abandoned)


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_gzip_bomb_is_refused_in_bounded_memory(
    attack: Connect, hostile: FakeUpstream, streaming: bool
) -> None:
    port = attack("gzip-bomb", max_response_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(UpstreamError) as caught:
            await exchange(port, streaming=streaming)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert caught.value.status == 502
    assert "larger than" in caught.value.message
    assert peak < 32 * 1024 * 1024
    names_the_deployment(caught.value, hostile)


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_huge_answer_is_refused(
    attack: Connect, hostile: FakeUpstream, streaming: bool
) -> None:
    port = attack("huge", max_response_bytes=1024 * 1024)
    with pytest.raises(UpstreamError) as caught:
        await exchange(port, streaming=streaming)

    assert caught.value.status == 502
    assert "max_response_bytes" in caught.value.message


@pytest.mark.parametrize("streaming", [False, True])
async def test_deep_nesting_is_refused(
    attack: Connect, hostile: FakeUpstream, streaming: bool
) -> None:
    port = attack("deep-300")
    with pytest.raises(UpstreamError) as caught:
        await exchange(port, streaming=streaming)

    assert caught.value.status == 502
    assert "nested deeper" in caught.value.message
    names_the_deployment(caught.value, hostile)


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("streaming", [False, True])
async def test_malformed_shapes_are_upstream_errors(
    attack: Connect, hostile: FakeUpstream, case: str, streaming: bool
) -> None:
    port = attack(f"malformed-{case}")
    with pytest.raises(UpstreamError) as caught:
        await exchange(port, streaming=streaming)

    assert caught.value.status == 502
    names_the_deployment(caught.value, hostile)


@pytest.mark.parametrize("status", [400, 500])
async def test_secrets_and_urls_echoed_in_errors_are_redacted(
    attack: Connect, hostile: FakeUpstream, status: int
) -> None:
    headers = {"X-Custom-Token": CUSTOM_TOKEN, "Ocp-Apim-Subscription-Key": SUBSCRIPTION}
    port = attack(f"echo-secrets-{status}", headers=headers)
    with pytest.raises(UpstreamError) as caught:
        await port.call(CHAT, chat_body(), NO_HEADERS)

    message = caught.value.message
    assert "rejected" in message  # the upstream's words are kept ...
    for secret in (API_KEY, CUSTOM_TOKEN, SUBSCRIPTION, INTERNAL_URL, hostile.base_url):
        assert secret not in message  # ... without anything secret or any address
    assert "https://status.example" not in message
    assert "[url]" in message


async def test_a_connection_reset_mid_stream_is_a_non_retryable_error(
    attack: Connect, hostile: FakeUpstream
) -> None:
    stream = attack("reset").stream(CHAT, chat_body(), NO_HEADERS)
    await anext(stream)
    with pytest.raises(UpstreamError) as caught:
        await drain(stream)

    assert caught.value.retryable is False
    names_the_deployment(caught.value, hostile)
