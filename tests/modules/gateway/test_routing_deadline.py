"""The routing deadline is the deadline of every call routing makes: a port in another process is
told how long it has left (`x-twelve-deadline`), not the internal call timeout."""

from __future__ import annotations

from tests.modules.gateway.test_routing import deployments
from twelve.kernel.rpc_wire import remaining
from twelve.modules.gateway.routing import RetryPolicy, route
from twelve.modules.models.api import DeploymentRef


async def test_calls_made_while_routing_know_the_time_left() -> None:
    policy = RetryPolicy(retries=0, backoff_seconds=0, backoff_max_seconds=0, deadline_seconds=7)
    seen: list[float | None] = []

    async def call(_deployment: DeploymentRef) -> str:
        seen.append(remaining())
        return "ok"

    assert remaining() is None
    await route(deployments("a"), call, policy)
    assert seen[0] is not None and 0 < seen[0] <= 7
    assert remaining() is None  # only while routing
