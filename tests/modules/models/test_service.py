"""The models service: listing, routing plans, calls through the registry, and instrumentation."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.errors import InvalidRequest, NotFound, UpstreamError
from twelve.kernel.http_client import HttpClient
from twelve.kernel.telemetry.tracing import setup_tracing, tracer
from twelve.modules.models.api import DeploymentRef, ModelsService
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import ModelsRegistry, build_models_service

BODY = {"model": "fast-chat", "messages": [{"role": "user", "content": "hi there"}]}


@pytest.fixture
def service(fake: FakeUpstream, http: HttpClient) -> ModelsRegistry:
    base = f"{fake.base_url}/v1"
    config = ModelsConfig.model_validate(
        {
            "models": [
                {
                    "name": "fast-chat",
                    "owned_by": "acme",
                    "deployments": [
                        {"provider": "openai", "base_url": base, "model": "gpt-fake"},
                        {"provider": "anthropic", "base_url": base, "model": "claude-fake"},
                    ],
                },
                {
                    "name": "embedder",
                    "deployments": [{"provider": "vllm", "base_url": base, "model": "embed-fake"}],
                },
                {
                    "name": "limited",
                    "deployments": [{"provider": "openai", "base_url": base, "model": "fail-429"}],
                },
            ]
        }
    )
    return build_models_service(config, http)


def requests_counted(deployment: DeploymentRef, outcome: str) -> float:
    labels = {
        "provider": deployment.provider,
        "model": deployment.model,
        "deployment": deployment.id,
        "outcome": outcome,
    }
    return REGISTRY.get_sample_value("twelve_upstream_requests_total", labels) or 0.0


async def test_the_registry_is_a_models_service(service: ModelsRegistry) -> None:
    port: ModelsService = service
    assert [card.id for card in await port.list_models()] == ["fast-chat", "embedder", "limited"]


async def test_model_cards(service: ModelsRegistry) -> None:
    fast, embedder, limited = await service.list_models()

    assert fast.owned_by == "acme"
    assert embedder.owned_by == "twelve"
    assert fast.capabilities == {"chat"}  # what both openai and anthropic serve
    assert embedder.capabilities == {"chat", "completions", "embeddings"}
    assert fast.created == embedder.created == limited.created > 1_700_000_000


async def test_plan_lists_deployments_in_configured_order(
    service: ModelsRegistry, fake: FakeUpstream
) -> None:
    plan = await service.plan("fast-chat", "chat")

    assert [d.id for d in plan] == ["fast-chat/openai/gpt-fake", "fast-chat/anthropic/claude-fake"]
    assert [d.provider for d in plan] == ["openai", "anthropic"]
    assert [d.upstream_model for d in plan] == ["gpt-fake", "claude-fake"]
    assert all(d.base_url == f"{fake.base_url}/v1" for d in plan)


async def test_unknown_model_is_not_found(service: ModelsRegistry) -> None:
    with pytest.raises(NotFound) as caught:
        await service.plan("gpt-5", "chat")

    error = caught.value
    assert error.message == "The model `gpt-5` does not exist or you do not have access to it."
    assert (error.status, error.code, error.param) == (404, "model_not_found", "model")


async def test_a_capability_the_model_lacks_is_invalid(service: ModelsRegistry) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await service.plan("fast-chat", "embeddings")

    assert caught.value.status == 400
    assert caught.value.param == "model"
    assert "does not support embeddings" in caught.value.message


async def test_every_deployment_answers_through_the_registry(service: ModelsRegistry) -> None:
    for deployment in await service.plan("fast-chat", "chat"):
        response = await service.call(deployment.id, "chat", BODY)
        assert response["choices"][0]["message"]["content"] == "echo: hi there"
        chunks = [chunk async for chunk in service.stream(deployment.id, "chat", BODY)]
        assert chunks[-1]["usage"]["completion_tokens"] == 3


async def test_completions_and_embeddings_through_the_registry(service: ModelsRegistry) -> None:
    [deployment] = await service.plan("embedder", "embeddings")

    embedded = await service.call(deployment.id, "embeddings", {"model": "embedder", "input": "x"})
    completed = await service.call(
        deployment.id, "completions", {"model": "embedder", "prompt": "x"}
    )
    streamed = [c async for c in service.stream(deployment.id, "completions", {"prompt": "x"})]

    assert len(embedded["data"][0]["embedding"]) == 8
    assert completed["choices"][0]["text"] == "echo: x"
    assert streamed[-1]["usage"]["prompt_tokens"] == 1


async def test_a_deployment_from_another_configuration_is_not_found(
    service: ModelsRegistry,
) -> None:
    with pytest.raises(NotFound):
        await service.call("gone/openai/x", "chat", BODY)
    with pytest.raises(NotFound):
        await anext(service.stream("gone/openai/x", "chat", BODY))


async def test_traceparent_reaches_the_upstream(
    service: ModelsRegistry, fake: FakeUpstream
) -> None:
    setup_tracing()
    [deployment, _] = await service.plan("fast-chat", "chat")

    with tracer("test").start_as_current_span("client request") as span:
        await service.call(deployment.id, "chat", BODY)
        [_ async for _ in service.stream(deployment.id, "chat", BODY)]
    trace_id = format(span.get_span_context().trace_id, "032x")

    for request in fake.requests:
        version, sent_trace_id, parent_id, _flags = request.headers["traceparent"].split("-")
        assert (version, sent_trace_id) == ("00", trace_id)
        # The upstream's parent is the client span made for the call, not the caller's span.
        assert parent_id != format(span.get_span_context().span_id, "016x")


def latencies_observed(deployment: DeploymentRef) -> float:
    labels = {
        "provider": deployment.provider,
        "model": deployment.model,
        "deployment": deployment.id,
    }
    return REGISTRY.get_sample_value("twelve_upstream_seconds_count", labels) or 0.0


async def test_upstream_calls_are_counted_by_outcome_and_timed(service: ModelsRegistry) -> None:
    [ok] = (await service.plan("fast-chat", "chat"))[:1]
    [limited] = await service.plan("limited", "chat")
    before = requests_counted(ok, "ok"), requests_counted(limited, "rate_limit")
    timed_before = latencies_observed(ok)

    await service.call(ok.id, "chat", BODY)
    [_ async for _ in service.stream(ok.id, "chat", BODY)]
    with pytest.raises(UpstreamError):
        await service.call(limited.id, "chat", BODY)

    after = requests_counted(ok, "ok"), requests_counted(limited, "rate_limit")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)
    assert latencies_observed(ok) - timed_before == 2


async def test_a_stream_closed_early_is_counted_as_cancelled(service: ModelsRegistry) -> None:
    [deployment, _] = await service.plan("fast-chat", "chat")
    before = requests_counted(deployment, "cancelled")
    body: dict[str, Any] = {**BODY, "messages": [{"role": "user", "content": "a b c d e"}]}

    stream = service.stream(deployment.id, "chat", body)
    await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]

    assert requests_counted(deployment, "cancelled") - before == 1
