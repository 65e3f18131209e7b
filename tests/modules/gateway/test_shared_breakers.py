"""Breaker state shared through the real Redis: two routers (two gateway "processes", each with
its own board) in front of one fake upstream. One ejects the failing primary; the other stops
sending to it without a failure of its own. Redis down: each keeps working alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app
from tests.modules.gateway.routing_world import RoutingWorld, deployment
from tests.redis_server import REDIS_URL, redis_prefix
from twelve.modules.gateway.breaker import Breaker, BreakerSettings
from twelve.modules.gateway.deployment_stats import StatsBoard
from twelve.modules.gateway.shared_breakers import SharedBreakers
from twelve.modules.models.api import DeploymentRef


@pytest.fixture
def board() -> Switchboard:
    return Switchboard()


@pytest.fixture
def switch(board: Switchboard) -> Iterator[FakeUpstream]:
    with FakeUpstream(app=switch_app(board)) as fake:
        yield fake


def models(url: str) -> list[dict[str, object]]:
    return [
        {
            "name": "shared",
            "breaker": {"base_ejection_seconds": 30.0},
            "deployments": [
                deployment(url, "shared-primary"),
                deployment(url, "shared-secondary", priority=1),
            ],
        }
    ]


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix() as name:
        yield name


async def until(condition: object, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within time")


def published() -> float:
    value = REGISTRY.get_sample_value(
        "twelve_breaker_shared_events_total", {"direction": "published"}
    )
    return value or 0.0


async def test_an_ejection_in_one_process_stops_traffic_from_the_other(
    switch: FakeUpstream, board: Switchboard, prefix: str
) -> None:
    first, second = RoutingWorld(models(switch.base_url)), RoutingWorld(models(switch.base_url))
    sharing = [
        SharedBreakers(world.router.stats, REDIS_URL, prefix=prefix, poll_seconds=0.5)
        for world in (first, second)
    ]
    for shared in sharing:
        await shared.start()
    try:
        before = published()
        board.set("shared-primary", "fail")
        replies = [await first.ask("shared") for _ in range(10)]
        assert {r.status for r in replies} == {200}
        assert board.calls["shared-primary"] == 5  # the first process ejected it

        primary = second.router.stats
        await until(lambda: "shared-primary" in primary._adopted)
        await until(lambda: published() - before == 1)
        await asyncio.sleep(0.2)
        assert published() - before == 1  # one transition, not one message per request
        replies = [await second.ask("shared") for _ in range(10)]
        assert {r.deployment for r in replies} == {"shared-secondary"}
        assert {r.attempts for r in replies} == {1}  # not one failed attempt on the primary
        assert board.calls["shared-primary"] == 5
        stats = primary.snapshot()["shared-primary"]
        assert stats.breaker.state == "open" and stats.breaker.remote

        # The key lives as long as the ejection, and a process that starts later reads it.
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            ttl = await client.pttl(f"{prefix}:shared-primary")
        finally:
            await client.aclose()
        assert 25_000 < ttl <= 30_000
        late = StatsBoard()
        latecomer = SharedBreakers(late, REDIS_URL, prefix=prefix, poll_seconds=0.5)
        await latecomer.start()
        sharing.append(latecomer)
        await until(lambda: "shared-primary" in late._adopted)

        # The first process closes its breaker (a call forced through succeeded): so do others.
        ref = first.router.stats.snapshot()["shared-primary"]
        board.set("shared-primary", "ok")
        ref.breaker.succeeded(time.monotonic())
        await until(lambda: stats.breaker.state == "closed")
        replies = [await second.ask("shared") for _ in range(3)]
        assert {r.deployment for r in replies} == {"shared-primary"}
    finally:
        for shared in sharing:
            await shared.stop()
        await first.close()
        await second.close()


async def test_without_redis_each_process_keeps_its_own_breakers(
    switch: FakeUpstream, board: Switchboard
) -> None:
    world = RoutingWorld(models(switch.base_url))
    shared = SharedBreakers(world.router.stats, "redis://127.0.0.1:9/0", poll_seconds=0.2)
    await shared.start()
    try:
        board.set("shared-primary", "fail")
        replies = [await world.ask("shared") for _ in range(10)]
        assert {r.status for r in replies} == {200}
        assert board.calls["shared-primary"] == 5  # ejected locally all the same
        await asyncio.sleep(0.5)  # the tasks retry in the background, without failing anything
        assert all(not task.done() for task in shared._tasks)
    finally:
        await shared.stop()
        await world.close()


async def test_messages_that_are_not_ours_are_ignored(prefix: str) -> None:
    board = StatsBoard()
    shared = SharedBreakers(board, REDIS_URL, prefix=prefix, poll_seconds=0.2)
    await shared.start()
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        for junk in (
            b"not json",
            b"[]",
            b'{"d": 1, "o": "x", "s": "open", "u": 1e18}',
            b'{"d": "x", "o": "y", "s": "open", "u": "soon"}',
            b"x" * 10_000,
        ):
            await client.publish(prefix, junk)
        await client.set(f"{prefix}:junk", b"{", px=5000)
        await asyncio.sleep(0.5)
        assert board._adopted == {}
        assert all(not task.done() for task in shared._tasks)
    finally:
        await client.aclose()
        await shared.stop()


def test_adopted_transitions_are_not_told_again_and_never_shorten_an_ejection() -> None:
    told: list[str] = []
    breaker = Breaker("unit-shared", BreakerSettings(consecutive_failures=1))
    breaker.listener = lambda b: told.append(b.state)
    breaker.adopt(until=50.0, ejections=2, now=10.0)
    assert (breaker.state, breaker.ejected_until, breaker.remote) == ("open", 50.0, True)
    assert told == []  # another process's ejection is not published again
    breaker.adopt(until=40.0, ejections=1, now=11.0)
    assert breaker.ejected_until == 50.0  # a shorter one changes nothing
    assert not breaker.admit(49.0) and breaker.admit(50.0)  # this process's own probe
    breaker.restore(50.5)
    assert breaker.state == "half_open"  # our probe is in flight: it tells its own result
    breaker.failed(51.0, probe=True)
    assert told == ["open"] and breaker.ejected_until > 51.0 and not breaker.remote
    breaker.restore(52.0)
    assert breaker.state == "closed" and told == ["open"]


def test_an_ejection_adopted_before_first_use_applies_when_the_deployment_is_seen() -> None:
    board = StatsBoard()
    now = time.monotonic()
    board.adopt("unseen", now + 30, 1, now)
    ref = DeploymentRef(id="unseen", model="m", provider="openai", upstream_model="m", base_url="x")
    assert board.of(ref).breaker.state == "open" and not board.of(ref).available(now)
