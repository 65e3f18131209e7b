"""Stable deployment ids and the per-deployment settings that travel with them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from twelve.kernel.http_client import HttpClient
from twelve.modules.models.config import ModelsConfig
from twelve.modules.models.service import build_models_service, endpoint_for

OPENAI = {"provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-secret-abcdef"}
ANTHROPIC = {"provider": "anthropic", "model": "claude-haiku", "api_key": "sk-ant-secret"}
LOCAL = {"provider": "vllm", "model": "llama", "base_url": "http://10.0.0.5:8000/v1"}


def config(*models: dict[str, Any]) -> ModelsConfig:
    return ModelsConfig.model_validate({"models": list(models)})


async def ids(parsed: ModelsConfig) -> dict[str, list[str]]:
    service = build_models_service(parsed, HttpClient())
    return {
        card.id: [d.id for d in await service.plan(card.id, "chat")]
        for card in await service.list_models()
    }


async def test_derived_ids_name_model_provider_and_upstream_model() -> None:
    parsed = config({"name": "fast", "deployments": [OPENAI, ANTHROPIC]})

    assert await ids(parsed) == {"fast": ["fast/openai/gpt-4o-mini", "fast/anthropic/claude-haiku"]}


async def test_reordering_the_file_keeps_every_id() -> None:
    first = {"name": "a", "deployments": [OPENAI, ANTHROPIC, LOCAL]}
    second = {"name": "b", "deployments": [LOCAL, {**OPENAI, "name": "primary"}]}
    before = await ids(config(first, second))
    reordered = {**first, "deployments": [LOCAL, ANTHROPIC, OPENAI]}
    after = await ids(config({**second, "deployments": second["deployments"][::-1]}, reordered))

    assert sorted(before["a"]) == sorted(after["a"])
    assert sorted(before["b"]) == sorted(after["b"]) == ["b/vllm/llama", "primary"]


async def test_one_model_on_two_base_urls_is_told_apart_without_showing_either() -> None:
    other = {**LOCAL, "base_url": "http://10.0.0.6:8000/v1"}
    parsed = config({"name": "m", "deployments": [LOCAL, other]})
    [first, second] = (await ids(parsed))["m"]

    assert first != second
    assert first.startswith("m/vllm/llama@") and second.startswith("m/vllm/llama@")
    assert "10.0.0" not in first + second
    # ... and stays the same when the two swap places.
    assert (await ids(config({"name": "m", "deployments": [other, LOCAL]})))["m"] == [
        second,
        first,
    ]


def test_ids_never_contain_a_secret() -> None:
    [model] = config({"name": "m", "deployments": [OPENAI, ANTHROPIC]}).models
    assert not any("secret" in deployment_id for deployment_id in model.deployment_ids())


def test_two_identical_deployments_need_a_name() -> None:
    with pytest.raises(ValidationError, match="give each a distinct `name`"):
        config({"name": "m", "deployments": [OPENAI, OPENAI]})
    named = config({"name": "m", "deployments": [OPENAI, {**OPENAI, "name": "spare"}]})
    assert named.models[0].deployment_ids() == ["m/openai/gpt-4o-mini", "spare"]


def test_names_are_unique_across_the_whole_configuration() -> None:
    with pytest.raises(ValidationError, match="deployment id `shared` is used more than once"):
        config(
            {"name": "a", "deployments": [{**OPENAI, "name": "shared"}]},
            {"name": "b", "deployments": [{**ANTHROPIC, "name": "shared"}]},
        )


@pytest.mark.parametrize("name", ["", "two words"])
def test_a_name_is_one_word(name: str) -> None:
    with pytest.raises(ValidationError):
        config({"name": "m", "deployments": [{**OPENAI, "name": name}]})


async def test_retry_on_timeout_reaches_the_deployment_ref() -> None:
    parsed = config(
        {"name": "m", "deployments": [OPENAI, {**ANTHROPIC, "retry_on_timeout": False}]}
    )
    plan = await build_models_service(parsed, HttpClient()).plan("m", "chat")

    assert [d.retry_on_timeout for d in plan] == [True, False]


def test_stream_deadlines_default_to_the_timeout_and_connect_to_at_most_ten_seconds() -> None:
    [model] = config(
        {"name": "m", "deployments": [{**OPENAI, "timeout": 30}, {**LOCAL, "timeout": 4}]}
    ).models
    slow, quick = (endpoint_for(d) for d in model.deployments)

    assert (slow.first_token_seconds, slow.idle_seconds, slow.connect_seconds) == (30, 30, 10)
    assert (quick.first_token_seconds, quick.idle_seconds, quick.connect_seconds) == (4, 4, 4)
    assert slow.max_response_bytes == 32 * 1024 * 1024


def test_stream_deadlines_and_limits_are_configurable() -> None:
    fields = {
        "first_token_timeout": 5,
        "idle_timeout": 2,
        "connect_timeout": 1,
        "max_response_bytes": 1024,
    }
    [model] = config({"name": "m", "deployments": [{**OPENAI, **fields}]}).models
    endpoint = endpoint_for(model.deployments[0])

    assert (endpoint.first_token_seconds, endpoint.idle_seconds, endpoint.connect_seconds) == (
        5,
        2,
        1,
    )
    assert endpoint.max_response_bytes == 1024


@pytest.mark.parametrize(
    "field", ["first_token_timeout", "idle_timeout", "connect_timeout", "max_response_bytes"]
)
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError):
        config({"name": "m", "deployments": [{**OPENAI, field: 0}]})
