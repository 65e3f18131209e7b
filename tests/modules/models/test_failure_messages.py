"""Upstream failures name the deployment and the cause, never its URL or credentials."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.errors import InvalidRequest, UpstreamError
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.adapters.providers import PROVIDERS
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import ModelsRegistry, build_models_service

KEY = "sk-failure-0123456789"
BODY = {"messages": [{"role": "user", "content": "hi"}]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def registry(http: HttpClient, *deployments: dict[str, Any]) -> ModelsRegistry:
    config = {"models": [{"name": "gpt-4o-mini", "deployments": list(deployments)}]}
    return build_models_service(ModelsConfig.model_validate(config), http)


async def test_a_refused_connection_names_the_deployment_and_the_cause(http: HttpClient) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    service = registry(
        http, {"provider": "openai", "base_url": base_url, "api_key": KEY, "model": "gpt-4o-mini"}
    )
    with pytest.raises(UpstreamError) as caught:
        await service.call("gpt-4o-mini/openai/gpt-4o-mini", "chat", BODY)

    assert caught.value.message == (
        "Deployment `gpt-4o-mini/openai/gpt-4o-mini` (openai): could not connect: "
        "connection refused."
    )
    assert caught.value.retryable is True


@pytest.mark.parametrize("model", ["fail-500", "fail-503", "slow-3000"])
async def test_server_errors_and_timeouts_name_the_deployment(
    fake: FakeUpstream, http: HttpClient, model: str
) -> None:
    deployment = {
        "name": "primary",
        "provider": "openai",
        "base_url": f"{fake.base_url}/v1",
        "api_key": KEY,
        "model": model,
        "timeout": 0.3,
    }
    service = registry(http, deployment)
    with pytest.raises(UpstreamError) as caught:
        await service.call("primary", "chat", BODY)

    message = caught.value.message
    assert message.startswith("Deployment `primary` (openai): ")
    assert ("failed (HTTP 5" in message) or ("timed out" in message)
    assert fake.base_url not in message and KEY not in message


async def test_an_operation_the_model_does_not_serve_is_refused_before_any_call(
    fake: FakeUpstream, http: HttpClient
) -> None:
    base = f"{fake.base_url}/v1"
    service = registry(http, {"provider": "anthropic", "base_url": base, "model": "claude"})
    with pytest.raises(InvalidRequest, match="does not support embeddings"):
        await service.call("gpt-4o-mini/anthropic/claude", "embeddings", {"input": "x"})
    with pytest.raises(InvalidRequest, match="Unknown operation"):
        await service.call("gpt-4o-mini/anthropic/claude", "rerank", {})
    assert fake.requests == []


async def test_embeddings_cannot_be_streamed(fake: FakeUpstream, http: HttpClient) -> None:
    base = f"{fake.base_url}/v1"
    service = registry(http, {"provider": "openai", "base_url": base, "model": "embed-fake"})
    with pytest.raises(InvalidRequest, match="cannot be streamed"):
        service.stream("gpt-4o-mini/openai/embed-fake", "embeddings", {"input": "x"})


def test_llamacpp_does_not_default_to_twelves_own_address() -> None:
    url = PROVIDERS["llamacpp"].default_base_url
    assert url is not None and ":8080" not in url
    assert url == "http://127.0.0.1:8081/v1"
