"""Every way a request can end is finished exactly once, with the usage or "unknown".

In process, against the real fake upstream on 127.0.0.1: the gateway's pipeline with one extra
admission stage that takes a hold and records what the finaliser gives back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.modules.gateway.pipeline_world import LIMITED_KEY, World, chat
from twelve.kernel.errors import AuthenticationFailed, NotFound, UpstreamError
from twelve.modules.gateway.exchange import ClientGone, Exchange
from twelve.modules.gateway.responses import RelayResponse
from twelve.modules.gateway.routing import Routed
from twelve.modules.gateway.streaming import OpenStream, relay


@pytest.fixture
async def world(fake: FakeUpstream) -> AsyncIterator[World]:
    built = World(fake.base_url)
    yield built
    await built.close()


async def until(condition: Callable[[], bool], polls: int = 1000) -> None:
    """Wait (up to 10 s) for something another task or the upstream's thread makes true."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def received(fake: FakeUpstream, upstream_model: str) -> bool:
    return any((r.json or {}).get("model") == upstream_model for r in fake.requests)


async def respond(
    world: World, exchange: Exchange, routed: Routed[Any], leave_after: int = 0
) -> list[bytes]:
    """Serve the stream as the HTTP layer would; the client hangs up after `leave_after` chunks
    (never, when 0)."""
    assert isinstance(routed.result, OpenStream)
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])
            if len(sent) == leave_after:
                world.left.set()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    chunks = relay(routed.result, exchange)
    response = RelayResponse(chunks, exchange, world.gateway.finaliser, {})
    await asyncio.wait_for(response({"type": "http"}, receive, send), 20)
    return sent


async def test_an_answer_is_finished_once_with_its_usage(world: World) -> None:
    routed = await world.gateway.serve(world.exchange(chat("echo")))
    assert isinstance(routed.result, dict)
    assert world.holds.settled == [("ok", routed.result["usage"])]
    assert routed.result["usage"]["prompt_tokens"] == 3


async def test_an_upstream_error_is_finished_once_with_usage_unknown(world: World) -> None:
    with pytest.raises(UpstreamError) as raised:
        await world.gateway.serve(world.exchange(chat("broken")))
    assert raised.value.headers["x-twelve-model"] == "broken"
    assert world.holds.settled == [("upstream_error", None)]


async def test_a_request_refused_after_a_hold_gives_the_hold_back(world: World) -> None:
    with pytest.raises(NotFound):
        await world.gateway.serve(world.exchange(chat("no-such-model")))
    assert world.holds.settled == [("refused", None)]


async def test_a_malformed_key_is_refused_without_a_lookup(world: World) -> None:
    for key in ("sk-someone-elses", "tw-" + "x" * 5000, "tw-has spaces in it 0123456789"):
        with pytest.raises(AuthenticationFailed):
            await world.gateway.serve(world.exchange(chat("echo"), key=key))
    assert world.keys.lookups == 0
    assert world.holds.settled == []  # refused before the hold was taken


async def test_a_model_the_key_may_not_see_is_the_same_404_as_an_unknown_one(world: World) -> None:
    errors = []
    for model, key in (("echo", LIMITED_KEY), ("slow", LIMITED_KEY), ("nope", LIMITED_KEY)):
        if model == "echo":
            await world.gateway.serve(world.exchange(chat(model), key=key))
            continue
        with pytest.raises(NotFound) as raised:
            await world.gateway.serve(world.exchange(chat(model), key=key))
        errors.append((raised.value.status, raised.value.body()))
    (hidden_status, hidden), (unknown_status, unknown) = errors
    assert hidden_status == unknown_status == 404
    assert orjson.dumps(hidden).replace(b"slow", b"M") == orjson.dumps(unknown).replace(
        b"nope", b"M"
    )
    assert hidden["error"]["code"] == "model_not_found"
    principal = await world.gateway.authenticate(LIMITED_KEY)
    with pytest.raises(NotFound) as raised:
        await world.gateway.get_model(principal, "slow")
    assert raised.value.body() == hidden


async def test_a_client_leaving_before_the_answer_cancels_the_upstream_call(
    world: World, fake: FakeUpstream
) -> None:
    serving = asyncio.create_task(world.gateway.serve(world.exchange(chat("slow"))))
    await until(lambda: received(fake, "slow-30000"))
    world.left.set()
    with pytest.raises(ClientGone):
        await asyncio.wait_for(serving, 10)  # the upstream would take 30 s
    assert world.holds.settled == [("client_gone", None)]


async def test_a_client_leaving_before_the_first_chunk_cancels_the_stream(
    world: World, fake: FakeUpstream
) -> None:
    serving = asyncio.create_task(world.gateway.serve(world.exchange(chat("slow", stream=True))))
    await until(lambda: received(fake, "slow-30000"))
    world.left.set()
    with pytest.raises(ClientGone):
        await asyncio.wait_for(serving, 10)
    assert world.holds.settled == [("client_gone", None)]


async def test_a_stream_is_finished_once_with_its_usage(world: World) -> None:
    exchange = world.exchange(chat("echo", stream=True))
    sent = await respond(world, exchange, await world.gateway.serve(exchange))
    assert sent[-1] == b"data: [DONE]\n\n"
    assert all(b'"usage"' not in chunk for chunk in sent)  # not asked for: metered, not shown
    [(outcome, usage)] = world.holds.settled
    assert outcome == "ok" and usage is not None and usage["completion_tokens"] > 0


async def test_a_client_leaving_mid_stream_is_finished_as_gone(world: World) -> None:
    exchange = world.exchange(chat("stalling", stream=True))
    sent = await respond(world, exchange, await world.gateway.serve(exchange), leave_after=1)
    assert len(sent) in (1, 2)  # the upstream then stalls for a minute; we did not wait for it
    assert world.holds.settled == [("client_gone", None)]


async def test_a_cut_stream_is_finished_as_failed_with_usage_unknown(world: World) -> None:
    exchange = world.exchange(chat("cut", stream=True))
    sent = await respond(world, exchange, await world.gateway.serve(exchange))
    assert b'"error"' in sent[-1]
    assert world.holds.settled == [("stream_failed", None)]


async def test_the_finaliser_runs_once_and_settles_even_when_its_caller_is_cancelled(
    world: World,
) -> None:
    release = asyncio.Event()
    calls: list[str] = []

    async def slow_settle(ended: Exchange) -> None:
        await release.wait()
        calls.append(str(ended.outcome))

    exchange = world.exchange(chat("echo"))
    exchange.settles.append(slow_settle)
    finishing = asyncio.create_task(world.gateway.finaliser.finish(exchange, "client_gone"))
    await asyncio.sleep(0)
    finishing.cancel()
    world.gateway.finaliser.finish_soon(exchange, "ok")  # a second end changes nothing
    assert finishing.cancelled() or not finishing.done()
    release.set()
    await until(lambda: bool(calls))
    await asyncio.sleep(0.05)
    assert calls == ["client_gone"] and exchange.outcome == "client_gone"
