"""Active health in routing: the gateway's watch reads the models module's health checks and
routing skips the unhealthy deployments, with no failed request and no hop per request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app
from tests.modules.gateway.routing_world import RoutingWorld, deployment
from twelve.modules.gateway.health_watch import HealthWatch
from twelve.modules.gateway.routing_state import RoutingState
from twelve.modules.models.api import DeploymentHealth


@pytest.fixture
def boards() -> tuple[Switchboard, Switchboard]:
    return Switchboard(), Switchboard()


@pytest.fixture
def upstreams(boards: tuple[Switchboard, Switchboard]) -> Iterator[tuple[str, str]]:
    with (
        FakeUpstream(app=switch_app(boards[0])) as primary,
        FakeUpstream(app=switch_app(boards[1])) as secondary,
    ):
        yield primary.base_url, secondary.base_url


@pytest.fixture
async def world(upstreams: tuple[str, str]) -> AsyncIterator[RoutingWorld]:
    built = RoutingWorld(
        [
            {
                "name": "watched",
                "health_check": {"unhealthy_threshold": 1, "timeout_seconds": 1},
                "deployments": [
                    deployment(upstreams[0], "watched-primary"),
                    deployment(upstreams[1], "watched-secondary", priority=1),
                ],
            }
        ]
    )
    yield built
    await built.close()


async def test_an_unhealthy_deployment_gets_no_traffic_until_it_heals(
    world: RoutingWorld, boards: tuple[Switchboard, Switchboard]
) -> None:
    primary, _ = boards
    checker = world.registry.health
    assert checker is not None
    watch = HealthWatch(world.registry, world.router.stats, interval=60)
    state = RoutingState(world.router.stats)

    await checker.check_once()
    await watch.refresh()
    assert (await world.ask("watched")).deployment == "watched-primary"

    primary.set("models", "fail")  # the health check sees the outage
    await checker.check_once()
    await watch.refresh()
    calls = primary.calls["watched-primary"]
    replies = [await world.ask("watched") for _ in range(20)]
    assert {r.status for r in replies} == {200}
    assert {(r.deployment, r.attempts) for r in replies} == {("watched-secondary", 1)}
    assert primary.calls["watched-primary"] == calls  # not one request, not even a probe
    seen = {s.deployment: s for s in await state.deployment_states()}
    assert seen["watched-primary"].actively_unhealthy
    assert seen["watched-primary"].breaker == "closed"  # health, not the breaker, skipped it

    primary.set("models", "ok")
    await checker.check_once()
    await watch.refresh()
    assert (await world.ask("watched")).deployment == "watched-primary"


async def test_every_deployment_unhealthy_still_answers(
    world: RoutingWorld, boards: tuple[Switchboard, Switchboard]
) -> None:
    for board in boards:
        board.set("models", "fail")
    assert world.registry.health is not None
    await world.registry.health.check_once()
    await HealthWatch(world.registry, world.router.stats, interval=60).refresh()
    assert world.router.stats.unhealthy == {"watched-primary", "watched-secondary"}
    # A check can be wrong (its path may fail while completions work): the request is sent.
    reply = await world.ask("watched")
    assert reply.status == 200 and reply.attempts == 1


class Unreachable:
    async def deployment_health(self) -> list[DeploymentHealth]:
        raise ConnectionRefusedError("the models module is not answering")


async def test_an_unreadable_snapshot_fails_open(world: RoutingWorld) -> None:
    board = world.router.stats
    board.mark_unhealthy(frozenset({"watched-primary"}))
    watch = HealthWatch(Unreachable(), board, interval=60)  # type: ignore[arg-type]
    await watch.refresh()
    assert board.unhealthy == frozenset()
    assert (await world.ask("watched")).deployment == "watched-primary"
