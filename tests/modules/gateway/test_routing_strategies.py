"""Each strategy's distribution over 1,000 requests through the in-process gateway, in front of
a real fake upstream (deployment latencies set on its switchboard)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app
from tests.modules.gateway.routing_world import RoutingWorld, deployment
from twelve.modules.gateway.balancer import Balancer

REQUESTS = 1000


@pytest.fixture
def board() -> Switchboard:
    return Switchboard()


@pytest.fixture
def switch(board: Switchboard) -> Iterator[FakeUpstream]:
    with FakeUpstream(app=switch_app(board)) as fake:
        yield fake


async def shares(
    switch: FakeUpstream, strategy: str, deployments: list[dict[str, Any]], at_once: int = 10
) -> dict[str, float]:
    world = RoutingWorld([{"name": "m", "strategy": strategy, "deployments": deployments}])
    router = world.router
    router.balancer = Balancer(router.stats, router.balancer._prices, random.Random(12))
    try:
        replies = await world.ask_many("m", REQUESTS, at_once=at_once)
    finally:
        await world.close()
    assert all(r.status == 200 for r in replies)
    counted = Counter(r.deployment for r in replies)
    return {name: n / REQUESTS for name, n in counted.items()}


async def test_weighted_follows_the_weights_within_five_percent(switch: FakeUpstream) -> None:
    url = switch.base_url
    got = await shares(
        switch,
        "weighted",
        [
            deployment(url, "w-one", weight=1),
            deployment(url, "w-two", weight=2),
            deployment(url, "w-seven", weight=7),
        ],
    )
    for name, expected in (("w-one", 0.1), ("w-two", 0.2), ("w-seven", 0.7)):
        assert abs(got.get(name, 0.0) - expected) <= 0.05, got


async def test_least_latency_prefers_the_faster(switch: FakeUpstream, board: Switchboard) -> None:
    board.set("lat-slow", "ok", delay=0.1)
    url = switch.base_url
    got = await shares(
        switch, "least-latency", [deployment(url, "lat-slow"), deployment(url, "lat-fast")]
    )
    assert got.get("lat-fast", 0.0) >= 0.95, got


async def test_least_busy_prefers_the_one_with_fewer_requests_in_flight(
    switch: FakeUpstream, board: Switchboard
) -> None:
    board.set("busy-slow", "ok", delay=0.05)
    url = switch.base_url
    got = await shares(
        switch, "least-busy", [deployment(url, "busy-slow"), deployment(url, "busy-fast")], 20
    )
    # A batch of 20 at once: the slow one holds its requests, so the fast one gets the rest.
    assert got.get("busy-fast", 0.0) >= 0.7, got


async def test_cost_prefers_the_cheaper(switch: FakeUpstream) -> None:
    url = switch.base_url
    dear = deployment(url, "cost-dear", input_cost_per_mtok=5, output_cost_per_mtok=15)
    cheap = deployment(url, "cost-cheap", input_cost_per_mtok=0.1, output_cost_per_mtok=0.4)
    got = await shares(switch, "cost", [dear, cheap])
    assert got == {"cost-cheap": 1.0}


async def test_priority_tiers_come_first_whatever_the_strategy(switch: FakeUpstream) -> None:
    url = switch.base_url
    got = await shares(
        switch,
        "weighted",
        [
            deployment(url, "tier-backup", priority=1, weight=100),
            deployment(url, "tier-a", weight=1),
            deployment(url, "tier-b", weight=1),
        ],
    )
    assert got.get("tier-backup", 0.0) == 0.0 and abs(got["tier-a"] - 0.5) <= 0.05, got


def test_least_latency_measures_a_slow_deployment_again_once_its_average_is_old() -> None:
    from twelve.modules.gateway.deployment_stats import StatsBoard
    from twelve.modules.gateway.stages.price_list import PriceList
    from twelve.modules.models.api import DeploymentRef, RoutingConfig

    routing = RoutingConfig(strategy="least-latency")
    slow, fast = (
        DeploymentRef(
            id=f"ll-{name}",
            model="m",
            provider="openai",
            upstream_model=name,
            base_url="http://x",
            routing=routing,
        )
        for name in ("slow", "fast")
    )
    board = StatsBoard()
    balancer = Balancer(board, PriceList(None), random.Random(1))
    board.of(slow).answered_after(2.0, now=100.0)
    board.of(fast).answered_after(0.1, now=100.0)
    assert balancer.order([slow, fast], now=101.0) == [fast, slow]
    board.of(fast).answered_after(0.1, now=140.0)
    assert balancer.order([slow, fast], now=140.0) == [slow, fast]  # 40 s old: measure it again
