"""The system under test around Twelve: the models it serves from the fake upstream, the
environment it runs with, and a look at what the upstream received."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tests.fakes.upstream import FakeUpstream, RecordedRequest

# Small enough that a test can exceed it cheaply; large enough for every ordinary request.
MAX_BODY_BYTES = 64 * 1024
# Larger than MAX_BODY_BYTES: the upload route has a bound of its own.
MAX_FILE_BYTES = 3 * 1024 * 1024
# The fake upstream demands this key, so every 200 proves `${E2E_UPSTREAM_KEY}` reached it.
UPSTREAM_KEY = "sk-e2e-upstream-0123456789"
# The `issue_key` fixture: (name="e2e", models=None) -> the admin API's issued key as JSON.
IssueKey = Callable[..., dict[str, Any]]


# Model name -> its deployments, in order: (provider, upstream model id, timeout in seconds).
# The upstream model id picks the fake's behaviour (see tests/fakes/upstream_behaviour.py).
MODELS: dict[str, list[tuple[str, str, float]]] = {
    "echo": [("openai", "gpt-echo", 10)],
    "claude": [("anthropic", "claude-echo", 10)],
    "fallback": [("openai", "fail-500", 10), ("openai", "echo-backup", 10)],
    "broken": [("openai", "fail-500", 10)],
    "rejecting": [("openai", "fail-400", 10)],
    "claude-rejecting": [("anthropic", "fail-400", 10)],
    "limited": [("openai", "fail-429", 10)],
    "too-long": [("openai", "fail-context", 10)],
    "slow": [("openai", "slow-3000", 0.3)],
    "flaky": [("openai", "flaky-1", 10)],
    "cut": [("openai", "cut-2", 10)],
    "claude-cut": [("anthropic", "cut-3", 10)],
    "midfail": [("openai", "midfail-2", 10)],
    "tools": [("openai", "tool", 10)],
    "claude-tools": [("anthropic", "tool", 10)],
    "embed": [("openai", "embed-small", 10)],
    "stalling": [("openai", "stall-3", 1.5)],
    "stalling-long": [("openai", "stall-2", 30)],
}


def config_yaml(upstream_url: str, models: dict[str, list[tuple[str, str, float]]] = MODELS) -> str:
    """The YAML file Twelve is started with: every model in `models` (`MODELS` by default), all
    on the fake upstream, with the upstream key taken from the environment."""
    lines = ["models:"]
    for name, deployments in models.items():
        lines += [f"  - name: {name}", "    deployments:"]
        for provider, model, timeout in deployments:
            lines += [
                f"      - provider: {provider}",
                f"        base_url: {upstream_url}/v1",
                "        api_key: ${E2E_UPSTREAM_KEY}",
                f"        model: {model}",
                f"        timeout: {timeout}",
            ]
    return "\n".join(lines) + "\n"


def server_env(config: Path, data_dir: Path) -> dict[str, str]:
    return {
        "TWELVE_CONFIG": str(config),
        "TWELVE_DATA_DIR": str(data_dir),
        "TWELVE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "TWELVE_STORAGE_MAX_FILE_BYTES": str(MAX_FILE_BYTES),
        "TWELVE_GATEWAY_RETRIES": "1",
        "TWELVE_GATEWAY_RETRY_BACKOFF_SECONDS": "0.01",
        "E2E_UPSTREAM_KEY": UPSTREAM_KEY,
    }


def sent_upstream(upstream: FakeUpstream, text: str) -> RecordedRequest:
    """The latest request the upstream received whose body contains `text`."""
    for request in reversed(upstream.requests):
        if text in orjson.dumps(request.json).decode():
            return request
    raise AssertionError(f"the upstream never received {text!r}")
