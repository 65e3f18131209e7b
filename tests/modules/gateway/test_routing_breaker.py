"""Circuit breakers: the rules on a clock the test moves, then the whole gateway in front of a
real fake upstream whose primary fails and heals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import REGISTRY

from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app
from tests.modules.gateway.routing_world import RoutingWorld, deployment
from twelve.modules.gateway.breaker import Breaker, BreakerSettings

SETTINGS = BreakerSettings(base_ejection_seconds=10, max_ejection_seconds=25)


def test_five_failures_in_a_row_eject_and_a_success_between_resets_the_count() -> None:
    breaker = Breaker("unit-a", SETTINGS)
    for _ in range(4):
        breaker.failed(1.0)
    breaker.succeeded(1.0)
    for _ in range(4):
        breaker.failed(1.0)
    assert breaker.state == "closed" and breaker.admit(1.0)
    breaker.failed(1.0)
    assert breaker.state == "open" and not breaker.admit(1.0) and not breaker.admit(10.9)


def test_only_one_probe_goes_through_when_the_ejection_ends() -> None:
    breaker = Breaker("unit-b", BreakerSettings(consecutive_failures=1, base_ejection_seconds=10))
    breaker.failed(0.0)
    assert breaker.available(10.0) and breaker.admit(10.0)  # the probe
    assert breaker.state == "half_open"
    assert not breaker.available(10.0) and not breaker.admit(10.5)  # one at a time
    breaker.succeeded(11.0)
    assert breaker.state == "closed" and breaker.admit(11.0)


def test_a_failed_probe_ejects_again_for_longer_up_to_the_maximum() -> None:
    breaker = Breaker("unit-c", BreakerSettings(consecutive_failures=1, **_EJECTION))
    breaker.failed(0.0)
    assert breaker.ejected_until == 10.0
    assert breaker.admit(10.0)
    breaker.failed(10.0, probe=True)
    assert breaker.state == "open" and breaker.ejected_until == 30.0  # 2 x 10
    assert breaker.admit(30.0)
    breaker.failed(30.0, probe=True)
    assert breaker.ejected_until == 55.0  # 3 x 10, capped at 25


_EJECTION = {"base_ejection_seconds": 10.0, "max_ejection_seconds": 25.0}


def test_time_spent_healthy_forgets_earlier_ejections() -> None:
    breaker = Breaker("unit-d", BreakerSettings(consecutive_failures=1, **_EJECTION))
    breaker.failed(0.0)
    assert breaker.admit(10.0)
    breaker.failed(10.0, probe=True)  # second ejection: 20 s
    assert breaker.admit(30.0)
    breaker.succeeded(30.0)
    breaker.failed(60.0)  # 30 s healthy = 3 base periods: back to a first ejection
    assert breaker.ejected_until == 70.0


def test_a_failure_rate_over_the_window_ejects() -> None:
    settings = BreakerSettings(error_rate=0.5, min_requests=20, window_seconds=10)
    breaker = Breaker("unit-e", settings)
    now = 100.0
    for i in range(19):  # alternate: never two failures in a row, 9 of 19 failed
        (breaker.failed if i % 2 else breaker.succeeded)(now)
    assert breaker.state == "closed"
    breaker.failed(now)  # 10 of 20
    assert breaker.state == "open"


def test_failures_older_than_the_window_do_not_count() -> None:
    breaker = Breaker("unit-f", BreakerSettings(error_rate=0.5, min_requests=4, window_seconds=10))
    breaker.failed(0.0)
    breaker.failed(0.5)
    breaker.succeeded(1.0)
    breaker.succeeded(20.0)
    breaker.failed(20.5)  # 1 failure of 2 in the window: too few calls to judge
    assert breaker.state == "closed"


def test_a_call_forced_through_an_ejected_breaker_is_not_a_probe() -> None:
    breaker = Breaker("unit-g", BreakerSettings(consecutive_failures=1, base_ejection_seconds=10))
    breaker.failed(0.0)
    breaker.failed(1.0)  # forced: the ejection stays as it was
    assert breaker.ejected_until == 10.0
    assert breaker.admit(10.0)
    breaker.released()  # the probe ended telling nothing (a client error): another may probe
    assert breaker.admit(10.1)


def transitions(deployment_id: str, state: str) -> float:
    value = REGISTRY.get_sample_value(
        "twelve_breaker_transitions_total", {"deployment": deployment_id, "state": state}
    )
    return value or 0.0


@pytest.fixture
def board() -> Switchboard:
    return Switchboard()


@pytest.fixture
def switch(board: Switchboard) -> Iterator[FakeUpstream]:
    with FakeUpstream(app=switch_app(board)) as fake:
        yield fake


@pytest.fixture
async def world(switch: FakeUpstream) -> AsyncIterator[RoutingWorld]:
    breaker = {"base_ejection_seconds": 1.0, "max_ejection_seconds": 10.0}
    built = RoutingWorld(
        [
            {
                "name": "chat",
                "breaker": breaker,
                "deployments": [
                    deployment(switch.base_url, "primary-b"),
                    deployment(switch.base_url, "secondary-b"),
                ],
            }
        ]
    )
    yield built
    await built.close()


async def test_the_breaker_opens_after_five_failures_and_traffic_returns_once_healed(
    world: RoutingWorld, board: Switchboard
) -> None:
    board.set("primary-b", "fail")
    breaker = world.router.stats.snapshot
    replies = [await world.ask("chat") for _ in range(2)]
    assert board.calls["primary-b"] == 4  # a try and a retry each
    assert breaker()["primary-b"].breaker.state == "closed"
    replies += [await world.ask("chat") for _ in range(20)]
    # Exactly five failures opened it; then not one call more reached the primary.
    assert board.calls["primary-b"] == 5
    assert breaker()["primary-b"].breaker.state == "open"
    assert all(r.status == 200 and r.deployment == "secondary-b" for r in replies)
    assert [r.attempts for r in replies[:4]] == [3, 3, 2, 1]

    # After the ejection (1 s) one request probes the primary, fails over, and ejects it for 2 s.
    await asyncio.sleep(1.05)
    probed = [await world.ask("chat") for _ in range(10)]
    assert board.calls["primary-b"] == 6
    assert probed[0].attempts == 2 and all(r.status == 200 for r in probed)
    assert transitions("primary-b", "half_open") == 1

    board.set("primary-b", "ok")
    await asyncio.sleep(2.05)
    healed = [await world.ask("chat") for _ in range(10)]
    assert all(r.status == 200 and r.deployment == "primary-b" for r in healed)
    assert [r.attempts for r in healed] == [1] * 10
    assert board.calls["primary-b"] == 16
    assert breaker()["primary-b"].breaker.state == "closed"
    assert transitions("primary-b", "closed") == 1


async def test_every_deployment_ejected_still_answers_from_the_one_ejected_longest_ago(
    switch: FakeUpstream, board: Switchboard
) -> None:
    world = RoutingWorld(
        [
            {
                "name": "both",
                "breaker": {"consecutive_failures": 1, "base_ejection_seconds": 60},
                "deployments": [
                    deployment(switch.base_url, "first-e"),
                    deployment(switch.base_url, "second-e"),
                ],
            }
        ],
        retries=0,
    )
    try:
        board.set("first-e", "fail")
        board.set("second-e", "fail")
        failed = await world.ask("both")
        assert failed.status == 502 and failed.attempts == 2
        board.set("first-e", "ok")
        board.set("second-e", "ok")
        answered = await world.ask("both")
        assert answered.status == 200 and answered.deployment == "first-e"
        assert board.calls["second-e"] == 1
    finally:
        await world.close()
