"""Routing under failure and load, through the in-process gateway in front of real fake upstreams:
the retry budget keeps attempts per request low when half the calls fail, a hung upstream is
answered within its timeout and its connections released, and nothing is retried after the
first streamed byte."""

from __future__ import annotations

import asyncio
import gc
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.e2e.server import free_port
from tests.fakes.upstream import FakeUpstream
from tests.fakes.upstream_switch import Switchboard, switch_app
from tests.modules.gateway.pipeline_world import CHAT, KEY, drain
from tests.modules.gateway.routing_world import RoutingWorld, deployment
from twelve.modules.gateway.exchange import Exchange
from twelve.modules.gateway.retry_budget import RetryBudget
from twelve.modules.gateway.streaming import OpenStream, relay

# Breaker settings that never eject: what the budget alone does.
NEVER_EJECT = {"consecutive_failures": 1000, "error_rate": 1.0, "min_requests": 100_000}


def test_the_budget_allows_a_share_of_requests_and_a_minimum() -> None:
    budget = RetryBudget(ratio=0.2, minimum=3, window_seconds=10)
    assert [budget.try_spend(0.0) for _ in range(4)] == [True, True, True, False]
    for _ in range(30):
        budget.requested(1.0)
    assert sum(budget.try_spend(1.0) for _ in range(10)) == 3  # 6 of 30, 3 already spent
    assert budget.try_spend(20.0)  # the window moved on


@pytest.fixture
def board() -> Switchboard:
    return Switchboard()


@pytest.fixture
def switch(board: Switchboard) -> Iterator[FakeUpstream]:
    with FakeUpstream(app=switch_app(board)) as fake:
        yield fake


@pytest.mark.parametrize("breaker", [NEVER_EJECT, {}], ids=["budget-alone", "with-breaker"])
async def test_half_the_calls_failing_costs_at_most_one_and_a_fifth_attempts_per_request(
    switch: FakeUpstream, board: Switchboard, breaker: dict[str, float]
) -> None:
    upstream = f"half-{len(breaker)}"
    board.set(upstream, "alternate")
    world = RoutingWorld(
        [
            {
                "name": "half",
                "breaker": breaker,
                "deployments": [deployment(switch.base_url, upstream)],
            }
        ],
        retries=3,
    )
    try:
        replies = await world.ask_many("half", 300, at_once=5)
    finally:
        await world.close()
    attempts = sum(r.attempts for r in replies)
    assert attempts == board.calls[upstream]  # the header counts what the upstream saw
    assert attempts / len(replies) <= 1.2
    assert sum(r.status == 200 for r in replies) > len(replies) / 2  # retries still helped


@pytest.fixture(scope="module")
def upstream_process() -> Iterator[str]:
    """The friendly fake in a process of its own, so that 200 hung handlers do not share this
    process's interpreter with the gateway being timed. Its `slow-60000` never answers in time."""
    port = free_port()
    root = Path(__file__).resolve().parents[3]
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.upstream", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        else:
            raise RuntimeError("the fake upstream did not start in 10 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()  # its hung handlers would hold up a graceful stop for a minute
        server.wait(timeout=10)


def established(port: int) -> int:
    """TCP connections to or from `port` that are established (Linux's /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        ports = {int(local.split(":")[1], 16), int(remote.split(":")[1], 16)}
        count += state == "01" and port in ports
    return count


async def test_a_hung_upstream_is_answered_within_its_timeout_and_its_connections_freed(
    upstream_process: str,
) -> None:
    timeout = 0.5
    port = int(upstream_process.rsplit(":", 1)[1])
    baseline = established(port)
    world = RoutingWorld(
        [
            {
                "name": "hung",
                "retry": {"retries": 0},
                "deployments": [deployment(upstream_process, "slow-60000", timeout=timeout)],
            }
        ]
    )

    async def timed(i: int) -> tuple[int, float]:
        await asyncio.sleep(i * 0.01)  # 200 arriving over 2 s, about 50 hung at any time
        started = time.monotonic()
        reply = await world.ask("hung")
        return reply.status, time.monotonic() - started

    # As `twelve serve` does after start-up: the test session's heap (every module and fixture
    # loaded so far) is frozen out of the collector's way, or a full collection of it would be
    # timed here instead of the gateway.
    gc.collect()
    gc.freeze()
    try:
        # Captured, not rendered: the test's console renderer is not what is measured here
        # (a server writes its logs from a thread of their own).
        with capture_logs() as logs:
            running = asyncio.gather(*(timed(i) for i in range(200)))
            await asyncio.sleep(0.4)
            assert established(port) >= baseline + 30  # the check below sees them
            results = await running
        for _ in range(200):  # timed-out connections are closed, not kept in the pool
            if established(port) <= baseline:
                break
            await asyncio.sleep(0.01)
        assert established(port) <= baseline
    finally:
        gc.unfreeze()
        await world.close()
    assert sum(1 for line in logs if line["event"] == "upstream_failed") == 200
    assert {status for status, _ in results} == {504}
    slowest = max(elapsed for _, elapsed in results)
    assert slowest <= timeout + 0.1, slowest


async def test_nothing_is_retried_or_sent_elsewhere_after_the_first_streamed_byte(
    fake: FakeUpstream,
) -> None:
    url = fake.base_url
    world = RoutingWorld(
        [
            {
                "name": "midway",
                "fallbacks": ["spare"],
                "deployments": [deployment(url, "midfail-2"), deployment(url, "echo-after")],
            },
            {"name": "spare", "deployments": [deployment(url, "echo-spare")]},
        ],
        retries=3,
    )
    try:
        gateway = world.gateway
        body = {"model": "midway", "messages": [{"role": "user", "content": "a b"}], "stream": True}

        async def read(_schema: object) -> dict[str, object]:
            return body

        exchange = Exchange(CHAT, KEY, read)
        routed = await gateway.serve(exchange)
        assert isinstance(routed.result, OpenStream) and routed.attempts == 1
        sent = b"".join(await drain(relay(routed.result, exchange)))
    finally:
        await world.close()
    assert b'"error"' in sent and b"[DONE]" not in sent
    models = [(r.json or {}).get("model") for r in fake.requests]
    assert models.count("midfail-2") == 1
    assert "echo-after" not in models and "echo-spare" not in models


async def test_a_stream_is_in_flight_on_its_deployment_until_it_ends(fake: FakeUpstream) -> None:
    world = RoutingWorld([{"name": "s", "deployments": [deployment(fake.base_url, "echo-s")]}])
    body = {"model": "s", "messages": [{"role": "user", "content": "a b"}], "stream": True}

    async def read(_schema: object) -> dict[str, object]:
        return body

    try:
        exchange = Exchange(CHAT, KEY, read)
        routed = await world.gateway.serve(exchange)
        stats = world.router.stats.snapshot()["echo-s"]
        assert isinstance(routed.result, OpenStream) and stats.in_flight == 1
        await drain(relay(routed.result, exchange))
        assert stats.in_flight == 1  # until the request is finished
        await world.gateway.finaliser.finish(exchange, "ok")
        assert stats.in_flight == 0 and stats.latency is not None
    finally:
        await world.close()
