"""The `models:` section: what it accepts, its defaults, and the errors a user sees."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from twelve.modules.models.config import ModelsConfig


def config(*models: dict[str, Any]) -> ModelsConfig:
    return ModelsConfig.model_validate({"models": list(models)})


def model(name: str = "fast-chat", **fields: Any) -> dict[str, Any]:
    fields.setdefault("deployments", [{"provider": "openai", "model": "gpt-4o-mini"}])
    return {"name": name, **fields}


def test_a_full_model_section() -> None:
    parsed = config(
        {
            "name": "fast-chat",
            "owned_by": "acme",
            "capabilities": ["chat"],
            "deployments": [
                {
                    "provider": "openai",
                    "base_url": "http://127.0.0.1:9100/v1/",
                    "api_key": "sk-secret",
                    "model": "gpt-4o-mini",
                    "timeout": "30",  # env interpolation leaves strings
                    "headers": {"OpenAI-Organization": "org-1"},
                },
                {"provider": "anthropic", "api_key": "sk-ant", "model": "claude-3-5-haiku"},
            ],
        }
    )

    [fast] = parsed.models
    first, second = fast.deployments
    assert fast.owned_by == "acme"
    assert fast.effective_capabilities == {"chat"}
    assert first.url == "http://127.0.0.1:9100/v1"
    assert first.timeout == 30.0
    assert first.api_key is not None
    assert first.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(parsed)
    assert second.url == "https://api.anthropic.com/v1"


def test_defaults() -> None:
    [parsed] = config(model()).models

    assert parsed.owned_by == "twelve"
    assert parsed.deployments[0].timeout == 60.0
    assert parsed.deployments[0].headers == {}
    assert parsed.effective_capabilities == {"chat", "completions", "embeddings"}


def test_default_capabilities_are_what_every_deployment_supports() -> None:
    deployments = [
        {"provider": "openai", "model": "gpt-4o"},
        {"provider": "mistral", "model": "mistral-small"},
    ]
    [parsed] = config(model(deployments=deployments)).models

    assert parsed.effective_capabilities == {"chat", "embeddings"}


def test_no_models_is_valid() -> None:
    assert ModelsConfig.model_validate({}).models == []


def test_unknown_provider_is_named() -> None:
    deployments = [{"provider": "openia", "model": "x"}]
    with pytest.raises(ValidationError, match="unknown provider `openia`"):
        config(model(deployments=deployments))


def test_names_are_unique() -> None:
    with pytest.raises(ValidationError, match="`fast-chat` is configured more than once"):
        config(model(), model())


def test_a_model_needs_a_deployment() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        config(model(deployments=[]))


@pytest.mark.parametrize(
    "fields",
    [
        {"colour": "blue"},
        {"deployments": [{"provider": "openai", "model": "x", "temperature": 1}]},
    ],
)
def test_unknown_fields_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        config(model(**fields))


def test_a_provider_without_a_default_needs_a_base_url() -> None:
    deployments = [{"provider": "openai-compatible", "model": "x"}]
    with pytest.raises(ValidationError, match="has no default base_url"):
        config(model(deployments=deployments))


def test_base_url_must_be_http() -> None:
    deployments = [{"provider": "openai", "model": "x", "base_url": "ftp://host"}]
    with pytest.raises(ValidationError, match="must start with http"):
        config(model(deployments=deployments))


def test_capabilities_must_be_served_by_every_deployment() -> None:
    deployments = [
        {"provider": "openai", "model": "text-embedding-3-small"},
        {"provider": "anthropic", "model": "claude"},
    ]
    with pytest.raises(ValidationError, match="provider `anthropic` does not support embeddings"):
        config(model(capabilities=["embeddings"], deployments=deployments))


@pytest.mark.parametrize("bad", [["images"], []])
def test_capabilities_must_be_known_and_not_empty(bad: list[str]) -> None:
    with pytest.raises(ValidationError):
        config(model(capabilities=bad))


@pytest.mark.parametrize("name", ["", "two words"])
def test_names_are_single_words(name: str) -> None:
    with pytest.raises(ValidationError):
        config(model(name))


def test_timeout_must_be_positive() -> None:
    deployments = [{"provider": "openai", "model": "x", "timeout": 0}]
    with pytest.raises(ValidationError):
        config(model(deployments=deployments))
