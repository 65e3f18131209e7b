from __future__ import annotations

import pytest

from twelve.kernel.errors import UpstreamError, UpstreamTimeout
from twelve.modules.gateway.routing import RetryPolicy, route
from twelve.modules.models.api import DeploymentRef

NO_WAIT = RetryPolicy(retries=1, backoff_seconds=0, backoff_max_seconds=0)


def deployments(*names: str) -> list[DeploymentRef]:
    return [
        DeploymentRef(
            id=f"m#{i}", model="m", provider=name, upstream_model=name, base_url="http://x"
        )
        for i, name in enumerate(names)
    ]


class Script:
    """A provider call that fails as told, per deployment, then answers with its provider name."""

    def __init__(self, failures: dict[str, list[Exception]]) -> None:
        self.failures = failures
        self.calls: list[str] = []

    async def __call__(self, deployment: DeploymentRef) -> str:
        self.calls.append(deployment.provider)
        queue = self.failures.get(deployment.provider, [])
        if queue:
            raise queue.pop(0)
        return deployment.provider


def five_hundred() -> UpstreamError:
    return UpstreamError("boom", status=502, retryable=True, kind="upstream_5xx")


async def test_first_deployment_answers() -> None:
    script = Script({})
    routed = await route(deployments("a", "b"), script, NO_WAIT)
    assert (routed.result, routed.deployment.id, routed.attempts) == ("a", "m#0", 1)


async def test_retries_a_retryable_error_on_the_same_deployment() -> None:
    script = Script({"a": [five_hundred()]})
    routed = await route(deployments("a", "b"), script, NO_WAIT)
    assert script.calls == ["a", "a"] and routed.result == "a" and routed.attempts == 2


async def test_falls_back_after_retries_are_spent() -> None:
    script = Script({"a": [five_hundred(), UpstreamTimeout()]})
    routed = await route(deployments("a", "b"), script, NO_WAIT)
    assert script.calls == ["a", "a", "b"] and routed.deployment.id == "m#1"


async def test_upstream_auth_failure_falls_back_without_retrying() -> None:
    rejected = UpstreamError("bad key", status=401, kind="auth")
    script = Script({"a": [rejected]})
    routed = await route(deployments("a", "b"), script, NO_WAIT)
    assert script.calls == ["a", "b"] and routed.result == "b"


async def test_upstream_auth_failure_everywhere_is_a_bad_gateway_not_a_401() -> None:
    script = Script({"a": [UpstreamError("bad key", status=401, kind="auth")]})
    with pytest.raises(UpstreamError) as raised:
        await route(deployments("a"), script, NO_WAIT)
    assert raised.value.status == 502 and raised.value.code == "upstream_auth_failed"
    assert "bad key" in raised.value.message


async def test_a_bad_request_ends_the_plan() -> None:
    bad = UpstreamError("bad request", status=400, kind="upstream_4xx")
    script = Script({"a": [bad]})
    with pytest.raises(UpstreamError) as raised:
        await route(deployments("a", "b"), script, NO_WAIT)
    assert raised.value is bad and script.calls == ["a"]


async def test_the_last_error_surfaces_when_every_deployment_fails() -> None:
    last = UpstreamTimeout()
    script = Script({"a": [five_hundred(), five_hundred()], "b": [five_hundred(), last]})
    with pytest.raises(UpstreamTimeout) as raised:
        await route(deployments("a", "b"), script, NO_WAIT)
    assert raised.value is last and script.calls == ["a", "a", "b", "b"]


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(retries=5, backoff_seconds=0.1, backoff_max_seconds=0.3)
    for retry in range(6):
        assert 0 <= policy.delay(retry) <= min(0.3, 0.1 * 2**retry)
