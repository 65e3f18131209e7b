"""The forwarding policy: fields that bill or store on the operator's upstream account reach the
upstream only when the model's `allow_fields` lists them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.fakes.upstream import FakeUpstream
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service

POLICED = {"store": True, "service_tier": "priority", "metadata": {"team": "blue"}}
BODY = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, **POLICED}


def registry(fake: FakeUpstream, http: HttpClient, **model: Any) -> Any:
    deployments = [{"provider": "openai", "base_url": f"{fake.base_url}/v1", "model": "gpt-fake"}]
    config = ModelsConfig.model_validate(
        {"models": [{"name": "m", "deployments": deployments, **model}]}
    )
    return build_models_service(config, http)


@pytest.mark.parametrize("streaming", [False, True])
async def test_store_and_service_tier_are_dropped_by_default(
    fake: FakeUpstream, http: HttpClient, streaming: bool
) -> None:
    service = registry(fake, http)
    if streaming:
        [_ async for _ in service.stream("m/openai/gpt-fake", "chat", dict(BODY))]
    else:
        await service.call("m/openai/gpt-fake", "chat", dict(BODY))

    [sent] = fake.requests
    assert "store" not in sent.json and "service_tier" not in sent.json
    assert sent.json["metadata"] == {"team": "blue"}  # tags alone cost nothing
    assert sent.json["temperature"] == 0.5  # everything else passes through


async def test_allowed_fields_are_forwarded(fake: FakeUpstream, http: HttpClient) -> None:
    service = registry(fake, http, allow_fields=["store", "service_tier"])
    await service.call("m/openai/gpt-fake", "chat", dict(BODY))

    [sent] = fake.requests
    assert (sent.json["store"], sent.json["service_tier"]) == (True, "priority")
    assert "metadata" not in sent.json  # the list replaces the default


async def test_the_policy_covers_every_operation(fake: FakeUpstream, http: HttpClient) -> None:
    service = registry(fake, http)
    await service.call("m/openai/gpt-fake", "embeddings", {"input": "x", **POLICED})

    [sent] = fake.requests
    assert "store" not in sent.json and "service_tier" not in sent.json


def test_only_policed_fields_can_be_allowed() -> None:
    deployments = [{"provider": "openai", "model": "x"}]
    with pytest.raises(ValidationError, match="temperature not policed"):
        ModelsConfig.model_validate(
            {"models": [{"name": "m", "deployments": deployments, "allow_fields": ["temperature"]}]}
        )
