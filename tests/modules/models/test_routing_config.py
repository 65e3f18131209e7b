"""A model's routing keys: accepted, carried on every deployment of its plan, and refused with one
line when wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from twelve.kernel.config_file import ConfigFileError
from twelve.kernel.http_client import HttpClient
from twelve.modules.models.loaded_models import load_models
from twelve.modules.models.service import build_models_service


def deployment(model: str, **fields: Any) -> dict[str, Any]:
    return {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": model, **fields}


def write(tmp_path: Path, yaml: str) -> Path:
    path = tmp_path / "twelve.yaml"
    path.write_text(yaml, encoding="utf-8")
    return path


ROUTED = """
models:
  - name: big
    context_window: 200000
    deployments: [{provider: openai, base_url: "http://127.0.0.1:9/v1", model: big-1}]
  - name: chat
    strategy: weighted
    fallbacks: [big]
    context_window_fallbacks: [big]
    content_filter_fallbacks: [big]
    context_window: 8000
    breaker: {consecutive_failures: 3, base_ejection_seconds: 1}
    retry: {retries: 0}
    deployments:
      - {provider: openai, base_url: "http://127.0.0.1:9/v1", model: b, priority: 1}
      - {provider: openai, base_url: "http://127.0.0.1:9/v1", model: a, weight: 3,
         context_window: 4000}
"""


async def test_routing_keys_travel_on_every_deployment_of_the_plan(tmp_path: Path) -> None:
    loaded = load_models(write(tmp_path, ROUTED), host="127.0.0.1", port=8080)
    http = HttpClient()
    try:
        plan = await build_models_service(loaded.config, http).plan("chat", "chat")
    finally:
        await http.close()
    # Priority 0 (the default) before priority 1, whatever the order written.
    assert [d.upstream_model for d in plan] == ["a", "b"]
    assert [d.weight for d in plan] == [3.0, 1.0]
    assert [d.context_window for d in plan] == [4000, 8000]  # its own, else the model's
    routing = plan[0].routing
    assert routing is plan[1].routing
    assert routing.strategy == "weighted" and routing.fallbacks == ("big",)
    assert routing.context_window_fallbacks == routing.content_filter_fallbacks == ("big",)
    assert routing.breaker.consecutive_failures == 3 and routing.breaker.error_rate is None
    assert routing.retry.retries == 0


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"strategy": "fastest"}, "strategy"),
        ({"fallbacks": ["nowhere"]}, "fallbacks names `nowhere`, which is not a configured"),
        ({"context_window_fallbacks": ["chat"]}, "names the model itself"),
        ({"content_filter_fallbacks": ["other", "other"]}, "listed more than once"),
        ({"context_window": 0}, "context_window"),
        ({"breaker": {"consecutive_failures": 0}}, "breaker.consecutive_failures"),
        ({"breaker": {"error_rate": 1.5}}, "breaker.error_rate"),
        ({"breaker": {"cooldown": 3}}, "breaker.cooldown"),
        ({"retry": {"retries": 99}}, "retry.retries"),
    ],
)
def test_a_bad_routing_key_is_one_line_at_start_up(
    tmp_path: Path, fields: dict[str, Any], says: str
) -> None:
    models = [
        {"name": "chat", "deployments": [deployment("a")], **fields},
        {"name": "other", "deployments": [deployment("o")]},
    ]
    path = write(tmp_path, yaml.safe_dump({"models": models}))
    with pytest.raises(ConfigFileError) as raised:
        load_models(path, host="127.0.0.1", port=8080)
    message = str(raised.value)
    assert says in message and "\n" not in message, message


@pytest.mark.parametrize(
    ("fields", "says"),
    [({"priority": -1}, "priority"), ({"weight": 0}, "weight"), ({"weight": "heavy"}, "weight")],
)
def test_a_bad_deployment_routing_key_is_one_line(
    tmp_path: Path, fields: dict[str, Any], says: str
) -> None:
    models = [{"name": "chat", "deployments": [deployment("a", **fields)]}]
    with pytest.raises(ConfigFileError) as raised:
        load_models(write(tmp_path, yaml.safe_dump({"models": models})), host="h", port=1)
    assert says in str(raised.value) and "\n" not in str(raised.value)
