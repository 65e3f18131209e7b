"""Model fallbacks through the in-process gateway, in front of a real fake upstream: to a cheaper
model when every deployment fails, to a larger one when the request is too long (before the call
when the window is known, on the upstream's error otherwise), and past a content filter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import REGISTRY

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app
from tests.modules.gateway.routing_world import RoutingWorld, deployment
from twelve.modules.gateway.fallbacks import ContextWindows
from twelve.modules.gateway.stages.price_list import catalogue_path
from twelve.modules.models.api import DeploymentRef

LONG = " ".join(["word"] * 200)  # ~200 tokens, ~1 KB


def fallbacks_taken(model: str, to: str, kind: str) -> float:
    labels = {"model": model, "to": to, "kind": kind}
    return REGISTRY.get_sample_value("twelve_model_fallbacks_total", labels) or 0.0


@pytest.fixture
def board() -> Switchboard:
    board = Switchboard()
    board.set("fb-premium", "fail")
    board.set("fb-unknown-window", "context")
    board.set("fb-strict", "filter")
    return board


@pytest.fixture
def switch(board: Switchboard) -> Iterator[FakeUpstream]:
    with FakeUpstream(app=switch_app(board)) as fake:
        yield fake


@pytest.fixture
async def world(switch: FakeUpstream) -> AsyncIterator[RoutingWorld]:
    url = switch.base_url
    built = RoutingWorld(
        [
            {
                "name": "premium",
                "fallbacks": ["budget"],
                "deployments": [deployment(url, "fb-premium")],
            },
            {"name": "budget", "deployments": [deployment(url, "fb-budget")]},
            {
                "name": "small",
                "context_window": 100,
                "context_window_fallbacks": ["large"],
                "deployments": [deployment(url, "fb-small")],
            },
            {
                "name": "unsized",
                "context_window_fallbacks": ["large"],
                "deployments": [deployment(url, "fb-unknown-window")],
            },
            {
                "name": "tight",
                "context_window": 100,
                "fallbacks": ["budget"],
                "deployments": [deployment(url, "fb-tight")],
            },
            {
                "name": "large",
                "context_window": 100_000,
                "deployments": [deployment(url, "fb-large")],
            },
            {
                "name": "strict",
                "content_filter_fallbacks": ["lenient"],
                "fallbacks": ["budget"],
                "deployments": [deployment(url, "fb-strict")],
            },
            {"name": "lenient", "deployments": [deployment(url, "fb-lenient")]},
        ]
    )
    yield built
    await built.close()


async def test_every_deployment_failing_falls_back_to_the_cheaper_model(
    world: RoutingWorld, board: Switchboard
) -> None:
    before = fallbacks_taken("premium", "budget", "failure")
    reply = await world.ask("premium")
    assert reply.status == 200 and reply.deployment == "fb-budget"
    assert reply.headers["x-twelve-model"] == "budget"
    assert reply.body["model"] == "premium"  # the answer names the model the client asked for
    assert reply.attempts == 3  # a try and a retry on premium, then budget
    assert board.calls["fb-premium"] == 2 and board.calls["fb-budget"] == 1
    assert fallbacks_taken("premium", "budget", "failure") == before + 1


async def test_a_request_too_long_for_a_known_window_goes_to_the_larger_model_first(
    world: RoutingWorld, board: Switchboard
) -> None:
    short = await world.ask("small", "hello there")
    assert short.deployment == "fb-small"
    long = await world.ask("small", LONG)
    assert long.status == 200 and long.deployment == "fb-large" and long.attempts == 1
    assert board.calls["fb-small"] == 1  # never sent the long one
    assert fallbacks_taken("small", "large", "context_window") >= 1


async def test_an_answer_too_long_for_the_window_counts_too(
    world: RoutingWorld, board: Switchboard
) -> None:
    # A short prompt whose requested answer does not fit in 100 tokens.
    reply = await world.ask("small", "hello", max_tokens=500)
    assert reply.deployment == "fb-large"
    assert board.calls["fb-small"] == 0


async def test_an_upstream_context_length_error_falls_back_to_the_larger_model(
    world: RoutingWorld, board: Switchboard
) -> None:
    reply = await world.ask("unsized", "hello")
    assert reply.status == 200 and reply.deployment == "fb-large"
    assert reply.attempts == 2  # never retried: the same request is as long the second time
    assert board.calls["fb-unknown-window"] == 1


async def test_a_content_filter_error_falls_back_to_the_content_filter_list(
    world: RoutingWorld, board: Switchboard
) -> None:
    reply = await world.ask("strict")
    assert reply.status == 200 and reply.deployment == "fb-lenient"
    assert board.calls["fb-strict"] == 1 and board.calls["fb-budget"] == 0
    assert fallbacks_taken("strict", "lenient", "content_filter") == 1


async def test_with_no_list_for_it_the_clients_own_error_is_passed_through(
    switch: FakeUpstream, board: Switchboard
) -> None:
    board.set("fb-filter-alone", "filter")
    url = switch.base_url
    world = RoutingWorld(
        [
            {
                "name": "alone",
                "fallbacks": ["other"],
                "deployments": [deployment(url, "fb-filter-alone")],
            },
            {"name": "other", "deployments": [deployment(url, "fb-other")]},
        ]
    )
    try:
        reply = await world.ask("alone")
    finally:
        await world.close()
    assert reply.status == 400 and reply.body["error"]["code"] == "content_filter"
    assert board.calls["fb-other"] == 0  # a generic fallback is for failures, not refusals


def test_context_windows_come_from_the_configuration_else_the_catalogue() -> None:
    windows = ContextWindows(catalogue_path())

    def ref(upstream_model: str, window: int | None = None) -> DeploymentRef:
        return DeploymentRef(
            id=f"cw-{upstream_model}-{window}",
            model="m",
            provider="openai",
            upstream_model=upstream_model,
            base_url="http://x",
            context_window=window,
        )

    assert windows.of(ref("gpt-4o", 1234)) == 1234
    assert windows.of(ref("gpt-4o")) == 128_000
    assert windows.of(ref("no-such-model")) is None


async def test_too_long_with_no_larger_model_configured_is_left_to_the_upstream(
    world: RoutingWorld, board: Switchboard
) -> None:
    # Our count is an estimate; a generic fallback is for outages: the model itself is asked.
    reply = await world.ask("tight", LONG)
    assert reply.status == 200 and reply.deployment == "fb-tight"
    assert board.calls["fb-budget"] == 0
