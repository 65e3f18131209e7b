from __future__ import annotations

import asyncio
from email.utils import formatdate
from time import time

import pytest
from prometheus_client import REGISTRY

from twelve.kernel.errors import UpstreamError, UpstreamTimeout
from twelve.modules.gateway import routing
from twelve.modules.gateway.retry_policy import retry_after_seconds
from twelve.modules.gateway.routing import RetryPolicy, route
from twelve.modules.models.api import DeploymentRef

NO_WAIT = RetryPolicy(retries=1, backoff_seconds=0, backoff_max_seconds=0)


def deployments(*names: str, retry_on_timeout: bool = True) -> list[DeploymentRef]:
    return [
        DeploymentRef(
            id=f"m#{i}",
            model="m",
            provider=name,
            upstream_model=name,
            base_url="http://x",
            retry_on_timeout=retry_on_timeout,
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
    assert raised.value.headers["x-twelve-deployment"] == "m#1"


def test_backoff_is_capped_full_jitter() -> None:
    policy = RetryPolicy(retries=5, backoff_seconds=0.1, backoff_max_seconds=0.3)
    for retry in range(6):
        assert 0 <= policy.delay(retry) <= min(0.3, 0.1 * 2**retry)


def retries_counted(deployment: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "twelve_upstream_retries_total", {"deployment": deployment, "reason": reason}
    )
    return value or 0.0


async def test_a_timeout_is_not_sent_again_when_the_deployment_forbids_it() -> None:
    script = Script({"a": [UpstreamTimeout()]})
    with pytest.raises(UpstreamTimeout) as raised:
        await route(deployments("a", "b", retry_on_timeout=False), script, NO_WAIT)
    assert script.calls == ["a"]  # neither again nor elsewhere: the upstream may have billed it
    assert raised.value.status == 504


async def test_retries_are_counted_by_deployment_and_reason() -> None:
    before = retries_counted("m#0", "timeout")
    script = Script({"a": [UpstreamTimeout()]})
    await route(deployments("a"), script, NO_WAIT)
    assert script.calls == ["a", "a"]
    assert retries_counted("m#0", "timeout") == before + 1


def rate_limited(retry_after: str) -> UpstreamError:
    return UpstreamError(
        "slow down",
        status=429,
        retryable=True,
        kind="rate_limit",
        headers={"Retry-After": retry_after},
    )


@pytest.fixture
def waited(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits routing asks for, recorded instead of slept."""
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(routing.asyncio, "sleep", sleep)
    return asked


async def test_a_short_retry_after_is_waited_on_the_same_deployment(waited: list[float]) -> None:
    script = Script({"a": [rate_limited("1")]})
    policy = RetryPolicy(retries=1, backoff_seconds=0, backoff_max_seconds=0)
    routed = await route(deployments("a", "b"), script, policy)
    assert script.calls == ["a", "a"] and routed.result == "a" and waited == [1.0]


async def test_a_long_retry_after_moves_on_to_the_next_deployment_at_once(
    waited: list[float],
) -> None:
    script = Script({"a": [rate_limited("120")]})
    routed = await route(deployments("a", "b"), script, NO_WAIT)
    assert script.calls == ["a", "b"] and routed.result == "b" and waited == []


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 0.5 ") == 0.5
    assert retry_after_seconds("-4") == 0.0
    in_ten = retry_after_seconds(formatdate(time() + 10, usegmt=True))
    assert in_ten is not None and 5 < in_ten <= 10
    for junk in (None, "", "soon", "nan", "Mon, 99 Foo 2020"):
        assert retry_after_seconds(junk) is None


async def test_the_deadline_bounds_every_try_and_names_the_deployment() -> None:
    async def hangs(deployment: DeploymentRef) -> str:
        await asyncio.Event().wait()
        return "never"

    policy = RetryPolicy(retries=3, backoff_seconds=0, backoff_max_seconds=0, deadline_seconds=0.2)
    async with asyncio.timeout(10):
        with pytest.raises(UpstreamTimeout) as raised:
            await route(deployments("a", "b"), hangs, policy)
    error = raised.value
    assert error.status == 504 and "deadline" in error.message and "m#0" in error.message
    assert error.headers["x-twelve-deployment"] == "m#0"
    assert error.headers["x-twelve-attempts"] == "1"


async def test_a_failed_request_names_its_last_deployment_and_cause() -> None:
    script = Script({"a": [five_hundred(), five_hundred()], "b": [five_hundred(), five_hundred()]})
    with pytest.raises(UpstreamError) as raised:
        await route(deployments("a", "b"), script, NO_WAIT)
    error = raised.value
    assert "`m#1`" in error.message and "boom" in error.message and "http://x" not in error.message
    assert error.headers == {
        "x-twelve-model": "m",
        "x-twelve-deployment": "m#1",
        "x-twelve-provider": "b",
        "x-twelve-attempts": "4",
    }


async def test_the_routing_decision_is_a_span_naming_where_it_went(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from twelve.kernel.telemetry.tracing import build_provider

    exporter = InMemorySpanExporter()
    provider = build_provider(exporter=exporter, environ={})
    tracer = provider.get_tracer("test")
    monkeypatch.setattr(routing, "_TRACER", tracer)
    script = Script({"a": [five_hundred(), five_hundred()]})
    await route(deployments("a", "b"), Script({}), NO_WAIT)  # no recording parent: no span
    with tracer.start_as_current_span("server"):
        await route(deployments("a", "b"), script, NO_WAIT)
    provider.force_flush()  # type: ignore[attr-defined]
    span, _server = exporter.get_finished_spans()
    assert span.name == "twelve.route" and span.attributes is not None
    assert span.attributes["twelve.model"] == "m"
    assert span.attributes["twelve.deployment"] == "m#1"
    assert span.attributes["twelve.attempts"] == 3
