"""A model's `cache:` key: carried to the gateway on every deployment of its plan, absent by
default, and refused with one line when wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.api import CacheConfig
from twelve.modules.models.loaded_models import load_models
from twelve.modules.models.service import build_models_service


def deployment(model: str) -> dict[str, Any]:
    return {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": model}


def load(tmp_path: Path, models: list[dict[str, Any]]) -> Any:
    path = tmp_path / "twelve.yaml"
    path.write_text(yaml.safe_dump({"models": models}), encoding="utf-8")
    return load_models(path, host="127.0.0.1", port=8080)


EMBED = {"name": "embed", "deployments": [deployment("e")], "capabilities": ["embeddings"]}


async def test_the_cache_travels_on_every_deployment(tmp_path: Path) -> None:
    cache = {
        "ttl_seconds": 30,
        "cost_fraction": 0.25,
        "max_entry_bytes": 4096,
        "semantic_model": "embed",
        "semantic_threshold": 0.9,
    }
    models = [
        {"name": "chat", "cache": cache, "deployments": [deployment("a"), deployment("b")]},
        {"name": "plain", "deployments": [deployment("p")]},
        EMBED,
    ]
    loaded = load(tmp_path, models)
    http = HttpClient()
    try:
        service = build_models_service(loaded.config, http)
        plan = await service.plan("chat", "chat")
        plain = await service.plan("plain", "chat")
    finally:
        await http.close()
    assert {d.routing.cache for d in plan} == {CacheConfig(**cache)}
    assert plain[0].routing.cache is None  # off when absent


@pytest.mark.parametrize(
    ("cache", "says"),
    [
        ({"ttl_seconds": 0}, "cache.ttl_seconds"),
        ({"ttl_seconds": "long"}, "cache.ttl_seconds"),
        ({"cost_fraction": 1.5}, "cache.cost_fraction"),
        ({"max_entry_bytes": 10}, "cache.max_entry_bytes"),
        ({"ttl": 5}, "cache.ttl"),
        ({"semantic_threshold": 0.9}, "semantic_model and semantic_threshold go together"),
        ({"semantic_model": "embed"}, "semantic_model and semantic_threshold go together"),
        ({"semantic_model": "embed", "semantic_threshold": 2}, "cache.semantic_threshold"),
        ({"semantic_model": "nope", "semantic_threshold": 0.9}, "`nope`, which is not a"),
        ({"semantic_model": "other", "semantic_threshold": 0.9}, "does not serve embeddings"),
    ],
)
def test_a_bad_cache_is_one_line_at_start_up(
    tmp_path: Path, cache: dict[str, Any], says: str
) -> None:
    models = [
        {"name": "chat", "cache": cache, "deployments": [deployment("a")]},
        {"name": "other", "deployments": [deployment("o")], "capabilities": ["chat"]},
        EMBED,
    ]
    with pytest.raises(ConfigFileError) as raised:
        load(tmp_path, models)
    message = str(raised.value)
    assert says in message and "\n" not in message, message
